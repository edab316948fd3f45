import NIOCore
import SluiceCore
import SluiceWire

/// The leader's side of replication on the inter-node listener: Kafka `Fetch` with a
/// `replica_id` and `OffsetForLeaderEpoch` from followers. Both are registered `concurrent`,
/// so a fetch parked in its long-poll does not hold up the handshake requests behind it.
///
/// A replica id must be a node the connection may act as (`InterNodeRequest.peerMayActAs`):
/// over mutual TLS, the certificate `CN=node<N>` for replica N; anything else is refused with
/// CLUSTER_AUTHORIZATION_FAILED, so a client certificate of the same CA cannot pose as a
/// replica and read uncommitted records or move the HW.
enum ReplicaFetchRPC {
    /// A follower of another Sluice version: the connection closes (logged).
    struct UnsupportedVersion: Error, CustomStringConvertible {
        var apiKey: Int16
        var version: Int16
        var description: String { "replica request key \(apiKey) at version \(version), which this node does not serve" }
    }

    static func register(in registry: inout InterNodeHandlerRegistry, partitions: PartitionManager, waitMax: Duration) {
        registry.register(apiKeys: [FetchRequest.apiKey], concurrent: true) { request in
            let version = request.header.apiVersion
            guard (4...11).contains(version) else { throw UnsupportedVersion(apiKey: FetchRequest.apiKey, version: version) }
            let fetch = try FetchRequest.decode(exactly: request.body, version: version)
            let response: FetchResponse
            if fetch.replicaID.rawValue < 0 || !request.peerMayActAs(node: fetch.replicaID) {
                response = FetchResponse(errorCode: KafkaErrorCode.clusterAuthorizationFailed.rawValue, sessionID: 0, responses: [])
            } else {
                response = await serve(fetch, partitions: partitions, waitMax: waitMax)
            }
            return ResponseEncoder.encode(response, answering: request.header)
        }
        registry.register(apiKeys: [OffsetForLeaderEpochRequest.apiKey], concurrent: true) { request in
            let version = request.header.apiVersion
            guard (2...3).contains(version) else {
                throw UnsupportedVersion(apiKey: OffsetForLeaderEpochRequest.apiKey, version: version)
            }
            let asked = try OffsetForLeaderEpochRequest.decode(exactly: request.body, version: version)
            let authorized = asked.replicaID.rawValue >= 0 && request.peerMayActAs(node: asked.replicaID)
            var topics: [OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult] = []
            for topic in asked.topics {
                var results: [OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult.EpochEndOffset] = []
                for p in topic.partitions {
                    var answer = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult.EpochEndOffset(
                        errorCode: 0, partition: p.partition, leaderEpoch: .unknown, endOffset: .unknown)
                    if !authorized {
                        answer.errorCode = KafkaErrorCode.clusterAuthorizationFailed.rawValue
                    } else if let name = TopicName(rawValue: topic.topic),
                              let replica = await partitions.replica(TopicPartition(name, p.partition)) {
                        let (code, epoch, end) = await replica.endOffset(forEpoch: p.leaderEpoch, currentLeaderEpoch: p.currentLeaderEpoch)
                        answer.errorCode = code.rawValue
                        answer.leaderEpoch = epoch
                        answer.endOffset = end
                    } else {
                        answer.errorCode = KafkaErrorCode.notLeaderOrFollower.rawValue
                    }
                    results.append(answer)
                }
                topics.append(.init(topic: topic.topic, partitions: results))
            }
            return ResponseEncoder.encode(OffsetForLeaderEpochResponse(topics: topics), answering: request.header)
        }
    }

    /// Serves a follower's fetch, long-polling (up to its wait, at most `waitMax`) until some
    /// partition has records or an error. Every pass records the follower's position, so the
    /// HW moves as soon as the follower has fetched.
    static func serve(_ request: FetchRequest, partitions: PartitionManager, waitMax: Duration) async -> FetchResponse {
        let clock = ContinuousClock()
        let deadline = clock.now + min(.milliseconds(max(0, Int64(request.maxWaitMs))), waitMax)
        let signal = partitions.signal
        while true {
            let seen = signal.generation
            var remaining = Int(max(0, request.maxBytes))
            var bytes = 0
            var failed = false
            var topics: [FetchResponse.FetchableTopicResponse] = []
            for topic in request.topics {
                var results: [FetchResponse.FetchableTopicResponse.PartitionData] = []
                for p in topic.partitions {
                    var data = FetchResponse.FetchableTopicResponse.PartitionData(
                        partitionIndex: p.partition, errorCode: 0, highWatermark: .unknown, lastStableOffset: .unknown,
                        logStartOffset: .unknown, preferredReadReplica: .none, records: ByteBuffer())
                    defer { results.append(data) }
                    guard let name = TopicName(rawValue: topic.topic),
                          let replica = await partitions.replica(TopicPartition(name, p.partition)) else {
                        data.errorCode = KafkaErrorCode.notLeaderOrFollower.rawValue
                        failed = true
                        continue
                    }
                    let limit = min(Int(max(0, p.partitionMaxBytes)), remaining)
                    let outcome = await replica.serveReplicaFetch(from: request.replicaID, offset: p.fetchOffset,
                                                                  currentLeaderEpoch: p.currentLeaderEpoch, maxBytes: max(limit, 1),
                                                                  followerLogStart: p.logStartOffset)
                    data.errorCode = outcome.errorCode.rawValue
                    data.highWatermark = outcome.highWatermark
                    data.lastStableOffset = outcome.highWatermark
                    data.logStartOffset = outcome.logStartOffset
                    data.records = outcome.records ?? ByteBuffer()
                    let got = outcome.records?.readableBytes ?? 0
                    bytes += got
                    remaining -= min(remaining, got)
                    if outcome.errorCode != .none { failed = true }
                }
                topics.append(.init(topic: topic.topic, partitions: results))
            }
            if bytes >= Int(max(1, request.minBytes)) || failed || clock.now >= deadline || Task.isCancelled {
                return FetchResponse(errorCode: 0, sessionID: 0, responses: topics)
            }
            await signal.wait(after: seen, timeout: deadline - clock.now)
        }
    }
}
