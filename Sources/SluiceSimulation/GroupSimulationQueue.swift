/// A min-heap of timed events; ties in time keep insertion order, so a run is deterministic.
/// The heap holds only small keys; events wait in a table, so sifting never copies them.
struct GroupEventQueue<Event> {
    private struct Key {
        let time: Int64
        let seq: UInt64
        func precedes(_ other: Key) -> Bool { time < other.time || (time == other.time && seq < other.seq) }
    }
    private var heap: [Key] = []
    private var events: [UInt64: Event] = [:]
    private var nextSeq: UInt64 = 0

    mutating func push(_ event: Event, at time: Int64) {
        let key = Key(time: time, seq: nextSeq)
        events[nextSeq] = event
        nextSeq += 1
        heap.append(key)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (time: Int64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].precedes(heap[m]) { m = l }
            if r < heap.count && heap[r].precedes(heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return (top.time, events.removeValue(forKey: top.seq)!)
    }
}
