import SluiceRaft
import SluiceRaftStorage

/// A store that holds open files, closed when the driver stops (so a node restarted in the
/// same process reopens the directory without a stale descriptor around).
protocol RaftLogStoreClosing: RaftLogStore {
    mutating func close()
}

extension FileRaftLogStore: RaftLogStoreClosing {}
