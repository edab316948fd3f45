// SluiceRecords: see docs/ARCHITECTURE.md.
public enum SluiceRecordsModule {}
