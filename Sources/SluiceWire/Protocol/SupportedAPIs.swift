import NIOCore

/// The API versions Sluice advertises in ApiVersions, and Kafka's answer to an ApiVersions
/// request newer than Sluice implements.
///
/// Every range starts at the spec's minimum (0; DescribeLogDirs 1, as Kafka 4 dropped its v0)
/// and ends at the highest non-flexible version (DESIGN §4), except for the APIs whose flexible
/// versions are implemented: ApiVersions v3, DescribeQuorum v0-1 and DescribeCluster v0-1. The old minimums are not decoration: librdkafka before 2.11.1 (kcat 1.7.1 on
/// Debian 12 runs 2.0.2) enables a feature only if the broker's range overlaps one exact old
/// version (`rdkafka_feature.c`): compression (KLZ4) and group consumers need FindCoordinator
/// v0; MsgVer1 needs Produce 2 and Fetch 2; MsgVer2 Produce 3 and Fetch 4; ThrottleTime
/// Produce 1-2 and Fetch 1-2; balanced consumers OffsetCommit 1-2, OffsetFetch 1 and
/// Join/Sync/Heartbeat/LeaveGroup v0; OffsetTime ListOffsets 1; idempotence InitProducerId 0;
/// zstd Produce 7 and Fetch 10. Produce without v0 silently turns lz4 off (CLIENTS.md §1c).
/// Clients always pick the highest common version, so the old ones are never sent by them;
/// every advertised version decodes, and a handler answers one it cannot serve (Produce v0-2
/// carries magic 0/1 message sets) with a per-partition `UNSUPPORTED_VERSION` or
/// `UNSUPPORTED_FOR_MESSAGE_FORMAT`, as Kafka 4 does for Produce v0-2 (KAFKA-18659).
public enum SupportedAPIs {
    /// Advertised ranges, in key order (the order of the ApiVersions response).
    public static let advertised: [(key: KafkaAPIKey, versions: ClosedRange<Int16>)] = [
        (.produce, 0...8),
        (.fetch, 0...11),
        (.listOffsets, 0...5),
        (.metadata, 0...8),
        (.offsetCommit, 0...7),
        (.offsetFetch, 0...5),
        (.findCoordinator, 0...2),
        (.joinGroup, 0...5),
        (.heartbeat, 0...3),
        (.leaveGroup, 0...3),
        (.syncGroup, 0...3),
        (.describeGroups, 0...4),
        (.listGroups, 0...2),
        (.apiVersions, 0...3),
        (.createTopics, 0...4),
        (.deleteTopics, 0...3),
        (.deleteRecords, 0...1),
        (.initProducerID, 0...1),
        (.offsetForLeaderEpoch, 0...3),
        (.describeConfigs, 0...3),
        (.alterConfigs, 0...1),
        (.describeLogDirs, 1...1),
        (.createPartitions, 0...1),
        (.deleteGroups, 0...1),
        (.electLeaders, 0...1),
        (.incrementalAlterConfigs, 0...0),
        (.offsetDelete, 0...0),
        (.describeQuorum, 0...1),
        (.describeCluster, 0...1),
    ]

    /// The advertised range of `apiKey`, or nil if Sluice does not advertise it.
    public static func versions(of apiKey: KafkaAPIKey) -> ClosedRange<Int16>? {
        advertised.first { $0.key == apiKey }?.versions
    }

    /// The ApiVersions response body listing `advertised` with no error.
    public static func apiVersionsResponse(throttleTimeMs: Int32 = 0) -> ApiVersionsResponse {
        ApiVersionsResponse(
            errorCode: KafkaErrorCode.none.rawValue,
            apiKeys: advertised.map {
                .init(apiKey: $0.key.rawValue, minVersion: $0.versions.lowerBound,
                      maxVersion: $0.versions.upperBound)
            },
            throttleTimeMs: throttleTimeMs)
    }

    /// Kafka's answer to an ApiVersions request of a version it does not implement
    /// (`ApiVersionsRequest.getErrorResponse`): response header v0 and a v0 body with
    /// `UNSUPPORTED_VERSION` and the one entry {18, min, max}. Returned as a frame payload
    /// (no size prefix):
    /// ```
    /// correlation_id INT32 | error_code INT16 = 35 | api_keys count INT32 = 1
    ///   | api_key INT16 = 18 | min_version INT16 = 0 | max_version INT16 = 3
    /// ```
    /// librdkafka parses it with its flexible parser, fails, keeps error 35 and retries v0;
    /// kafka-python reads any error as v0 and retries with the advertised maximum.
    public static func apiVersionsFallback(
        correlationID: Int32, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        let range = versions(of: .apiVersions)!
        let body = ApiVersionsResponse(
            errorCode: KafkaErrorCode.unsupportedVersion.rawValue,
            apiKeys: [
                .init(apiKey: KafkaAPIKey.apiVersions.rawValue, minVersion: range.lowerBound,
                      maxVersion: range.upperBound)
            ])
        var buffer = allocator.buffer(capacity: 16)
        ResponseHeader(correlationID: correlationID).encode(into: &buffer, version: 0)
        body.encode(into: &buffer, version: 0)
        return buffer
    }
}
