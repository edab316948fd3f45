// SluiceTLS: see docs/ARCHITECTURE.md.
public enum SluiceTLSModule {}
