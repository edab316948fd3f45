// SluiceRaft: see docs/ARCHITECTURE.md.
public enum SluiceRaftModule {}
