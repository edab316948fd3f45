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

    /// The last arrival tick scheduled on each link while FIFO delivery is asked for.
    private var lastArrival: [Link: Int] = [:]

    /// The arrival tick for a FIFO link: `tick`, unless an earlier message on the link arrives
    /// later (then together with it, after it in the bucket).
    mutating func fifoTick(_ from: NodeID, _ to: NodeID, notBefore tick: Int) -> Int {
        let link = Link(from: from, to: to)
        let t = max(tick, lastArrival[link] ?? 0)
        lastArrival[link] = t
        return t
    }

    mutating func takeDue(at tick: Int) -> [RaftMessage] {
        let due = inFlight.removeValue(forKey: tick) ?? []
        inFlightCount -= due.count
        return due
    }
}
