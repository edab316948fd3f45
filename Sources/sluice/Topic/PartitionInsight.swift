import SluiceCore

/// How a topic's records spread over its partitions, and whether the spread is skewed.
///
/// A partition is *hot* when its share of the topic's records is more than ``hotFactor`` times
/// the mean share (1/partitions) — the sign of a hot key or a key with few values. The max/min
/// ratio says how uneven the partitions are overall (nil when a partition is empty and others
/// are not: the ratio is unbounded). Pure: counts in, figures out.
struct PartitionShares: Sendable {
    /// Share above this many times the mean marks a partition hot.
    static let hotFactor = 2.0
    /// A max/min ratio above this marks the topic skewed even without a hot partition.
    static let ratioMax = 2.0

    struct Entry: Sendable {
        var partition: PartitionIndex
        /// nil: the partition's leader did not answer.
        var records: Int64?
        /// Of the topic's records, 0…1 (nil when the topic is empty or the count unknown).
        var share: Double?
        var isHot: Bool
    }

    var entries: [Entry]
    var totalRecords: Int64
    /// The mean share, 1 / partitions.
    var meanShare: Double
    /// Largest over smallest partition record count (nil: empty or unbounded).
    var maxMinRatio: Double?

    init(_ counts: [(PartitionIndex, Int64?)]) {
        let known = counts.compactMap(\.1)
        let total = known.reduce(0, +)
        totalRecords = total
        meanShare = counts.isEmpty ? 0 : 1 / Double(counts.count)
        let mean = meanShare
        entries = counts.map { partition, records in
            let share = records.flatMap { total > 0 ? Double($0) / Double(total) : nil }
            return Entry(partition: partition, records: records, share: share,
                         isHot: counts.count > 1 && (share ?? 0) > mean * Self.hotFactor)
        }
        if let low = known.min(), let high = known.max(), low > 0 {
            maxMinRatio = Double(high) / Double(low)
        } else {
            maxMinRatio = nil
        }
    }

    var hotPartitions: [PartitionIndex] { entries.filter(\.isHot).map(\.partition) }

    /// Partitions without records while others have some.
    var emptyPartitions: [PartitionIndex] {
        totalRecords > 0 ? entries.filter { $0.records == 0 }.map(\.partition) : []
    }

    /// Whether the spread is skewed: a hot partition, an empty one beside full ones, or a
    /// max/min ratio above ``ratioMax``.
    var isSkewed: Bool {
        !hotPartitions.isEmpty || !emptyPartitions.isEmpty || (maxMinRatio ?? 1) > Self.ratioMax
    }

    /// One sentence on the skew for people (nil when the spread is even or the topic empty).
    var warning: String? {
        guard totalRecords > 0, isSkewed else { return nil }
        var parts: [String] = []
        for entry in entries where entry.isHot {
            parts.append("partition \(entry.partition) holds \(Percent(entry.share ?? 0)) of the records, "
                         + "\(Ratio((entry.share ?? 0) / meanShare)) the mean share (\(Percent(meanShare)))")
        }
        if !emptyPartitions.isEmpty {
            parts.append("partition(s) \(emptyPartitions.map(\.description).joined(separator: ",")) hold no records")
        }
        if let ratio = maxMinRatio, ratio > Self.ratioMax {
            parts.append("the fullest partition has \(Ratio(ratio)) the records of the emptiest")
        }
        return "skew: " + parts.joined(separator: "; ")
            + " — a hot key or a key with few distinct values concentrates load on one partition; consider a better-spread key"
    }
}

/// A fraction printed as a percentage with one decimal.
struct Percent: CustomStringConvertible {
    var fraction: Double
    init(_ fraction: Double) { self.fraction = fraction }
    var description: String { Decimal1(fraction * 100).description + "%" }
}

/// A ratio printed as "2.5×".
struct Ratio: CustomStringConvertible {
    var value: Double
    init(_ value: Double) { self.value = value }
    var description: String { Decimal1(value).description + "×" }
}

/// A number with one decimal, without Foundation's formatters.
struct Decimal1: CustomStringConvertible {
    var value: Double
    init(_ value: Double) { self.value = value }
    var description: String {
        guard value.isFinite else { return "∞" }
        let tenths = Int64((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }
}

/// How many sampled keys would land in another partition if the count changed.
struct KeyMoveEstimate: Sendable, Encodable {
    var hasher: String
    var fromPartitions: Int
    var toPartitions: Int
    var sampledRecords: Int
    var distinctKeys: Int
    var movedKeys: Int
    /// Records in the sample whose key moves (a key's weight is its record count).
    var movedRecords: Int

    /// Compares each distinct key's partition under both counts. Records without a key are
    /// spread round-robin and are not counted as keys.
    init(keys: [[UInt8]: Int], hasher: KeyHasherKind, from: Int, to: Int) {
        self.hasher = hasher.rawValue
        fromPartitions = from
        toPartitions = to
        sampledRecords = keys.values.reduce(0, +)
        distinctKeys = keys.count
        var movedKeys = 0
        var movedRecords = 0
        let implementation = hasher.hasher
        for (key, records) in keys {
            let before = implementation.partition(forKey: key, count: Int32(clamping: max(from, 1)))
            let after = implementation.partition(forKey: key, count: Int32(clamping: max(to, 1)))
            if before != after {
                movedKeys += 1
                movedRecords += records
            }
        }
        self.movedKeys = movedKeys
        self.movedRecords = movedRecords
    }
}
