import SluiceCore

/// When each unfenced broker's heartbeat lease runs out, in the controller's clock (ms).
///
/// Only the active controller holds leases, in memory: they are not in the metadata log. A new
/// controller starts with a fresh lease for every unfenced broker, so a failover never fences
/// a broker that simply had no chance to heartbeat to the new controller yet.
public struct BrokerLeases: Hashable, Sendable {
    /// Every broker that heartbeated to this controller (or was unfenced when it started) has a
    /// deadline; when it passes, an unfenced broker is fenced and its entry dropped.
    public private(set) var deadlinesMs: [NodeID: Int64] = [:]

    public init() {}

    mutating func renew(_ id: NodeID, nowMs: Int64, timeoutMs: Int64) {
        deadlinesMs[id] = nowMs + timeoutMs
    }

    mutating func remove(_ id: NodeID) { deadlinesMs[id] = nil }

    /// Brokers whose lease ended at or before `nowMs`, by ascending id.
    func expired(nowMs: Int64) -> [NodeID] {
        deadlinesMs.filter { $0.value <= nowMs }.map(\.key).sorted()
    }
}
