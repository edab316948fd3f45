import SluiceCore
import SluiceRaft

/// An in-memory network with per-message delay, loss, duplication and reordering, and
/// partitions as a set of cut one-way links (a symmetric partition cuts both directions).
struct SimulatedNetwork {
    /// Messages by the tick they arrive. Invariant: keys ≥ the current tick.
    private var inFlight: [Int: [RaftMessage]] = [:]
    /// Cut links, as (from, to).
    private(set) var cut: Set<Link> = []
    private(set) var inFlightCount = 0

    struct Link: Hashable { let from: NodeID; let to: NodeID }

    func isCut(_ from: NodeID, _ to: NodeID) -> Bool { cut.contains(Link(from: from, to: to)) }

    mutating func cut(_ from: NodeID, _ to: NodeID) { cut.insert(Link(from: from, to: to)) }

    mutating func healAll() { cut = [] }

    mutating func schedule(_ m: RaftMessage, at tick: Int) {
        inFlight[tick, default: []].append(m)
        inFlightCount += 1
    }

    mutating func takeDue(at tick: Int) -> [RaftMessage] {
        let due = inFlight.removeValue(forKey: tick) ?? []
        inFlightCount -= due.count
        return due
    }
}
