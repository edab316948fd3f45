// SluiceWire: see docs/ARCHITECTURE.md.
public enum SluiceWireModule {}
