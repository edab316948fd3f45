/// Time and randomness come into pure cores through these seams, so a simulator can run a
/// whole cluster deterministically from a seed (DESIGN §2.1, CONVENTIONS "pure cores").

/// A monotonic clock in nanoseconds. Only shells read clocks; cores receive ticks or instants.
public protocol MonotonicClock: Sendable {
    /// Nanoseconds since an arbitrary fixed origin; never decreases.
    func nowNanoseconds() -> UInt64
}

/// A wall clock in milliseconds since the Unix epoch, for record timestamps.
public protocol WallClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// A seedable source of random numbers. `SplitMix64` is the deterministic default.
public protocol RandomSource {
    mutating func next() -> UInt64
}

extension RandomSource {
    /// A uniform value in `0..<bound` (Lemire's multiply-shift; bias is negligible for the
    /// small bounds Sluice uses, such as election timeouts).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        return next().multipliedFullWidth(by: bound).high
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully determined by its seed.
public struct SplitMix64: RandomSource, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
