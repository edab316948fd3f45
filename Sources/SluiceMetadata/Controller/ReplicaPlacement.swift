import SluiceCore

/// Rack-unaware replica placement, after Kafka's `assignReplicasToBrokersRackUnaware`.
///
/// Partition `p`'s first replica (its initial leader) is broker `(start + p) % n`, so leaders
/// go round-robin over the brokers. The other replicas follow the first at distinct offsets
/// `1 + (shift + j) % (n - 1)`, and `shift` grows by one after every full round of `n`
/// partitions, so followers do not always pair the same brokers.
public enum ReplicaPlacement {
    /// Replica lists for partitions `partitions`.
    /// - Precondition: `brokers` is non-empty, sorted and distinct; `1 ≤ replicationFactor ≤ brokers.count`.
    public static func assign(
        partitions: Range<Int>, replicationFactor: Int, brokers: [NodeID], start: Int, shift: Int
    ) -> [[NodeID]] {
        let n = brokers.count
        precondition(n > 0 && (1...n).contains(replicationFactor), "RF \(replicationFactor) over \(n) brokers")
        var shift = shift
        var assignment: [[NodeID]] = []
        assignment.reserveCapacity(partitions.count)
        for p in partitions {
            if p > partitions.lowerBound && p % n == 0 { shift += 1 }
            let first = (start + p) % n
            var replicas = [brokers[first]]
            for j in 0..<(replicationFactor - 1) {
                let offset = 1 + (shift + j) % (n - 1)
                replicas.append(brokers[(first + offset) % n])
            }
            assignment.append(replicas)
        }
        return assignment
    }
}
