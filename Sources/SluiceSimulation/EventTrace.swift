/// The last `capacity` events of a run, printed with a failing seed.
struct EventTrace {
    let capacity: Int
    /// Invariant: count ≤ capacity; oldest first after `lines`.
    private var ring: [String] = []
    private var start = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func record(_ line: String) {
        if ring.count < capacity {
            ring.append(line)
        } else {
            ring[start] = line
            start = (start + 1) % capacity
        }
    }

    var lines: [String] { Array(ring[start...] + ring[..<start]) }
}
