import NIOCore
import SluiceCore
import SluiceWire

/// How fast the generated codecs turn frames into typed requests and responses into bytes,
/// against memcpy of the same number of bytes. A produce request is mostly opaque records, so
/// its decode should approach memcpy; a metadata response is all small fields, the worst case.
enum WireBenchmark: BenchmarkSuite {
    static let name = "wire"
    static let summary = "decode a Produce v8 request, encode a Metadata v8 response (vs memcpy)"

    static func run(_ report: inout BenchmarkReport) async throws {
        let produce = produceFrame(partitions: 16, recordBytes: 16 * 1024)
        let decodeRate = throughputGBps(bytes: produce.readableBytes) {
            guard case .produce(let request) = try! RequestDecoder.decode(frame: produce).request else {
                preconditionFailure("the frame holds a Produce request")
            }
            precondition(request.topicData.count == 1)
        }
        report.add(
            "decode Produce v8, 16 × 16 KiB", decodeRate, "GB/s",
            reference: ("memcpy", memcpyGBps(size: produce.readableBytes)))

        let metadata = metadataResponse(topics: 100, partitions: 6)
        let size = metadata.encoded(version: 8).readableBytes
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        let encodeRate = throughputGBps(bytes: size) {
            buffer.clear()
            metadata.encode(into: &buffer, version: 8)
        }
        report.add(
            "encode Metadata v8, 100 topics × 6 partitions (\(size / 1024) KiB)", encodeRate, "GB/s",
            reference: ("memcpy", memcpyGBps(size: size)))
    }

    private static func produceFrame(partitions: Int, recordBytes: Int) -> ByteBuffer {
        let records = ByteBuffer(bytes: (0..<recordBytes).map { UInt8(truncatingIfNeeded: $0) })
        let request = ProduceRequest(
            transactionalID: nil, acks: -1, timeoutMs: 30_000,
            topicData: [
                .init(name: "bench", partitionData: (0..<partitions).map {
                    .init(index: PartitionIndex(Int32($0)), records: records)
                })
            ])
        var frame = ByteBuffer()
        RequestHeader(apiKey: 0, apiVersion: 8, correlationID: 1, clientID: "bench").encode(into: &frame, version: 1)
        request.encode(into: &frame, version: 8)
        return frame
    }

    private static func metadataResponse(topics: Int, partitions: Int) -> MetadataResponse {
        MetadataResponse(
            brokers: (0..<3).map { .init(nodeID: NodeID(Int32($0)), host: "node\($0).sluice", port: 9092, rack: nil) },
            clusterID: "sluice-bench", controllerID: 0,
            topics: (0..<topics).map { topic in
                .init(errorCode: 0, name: "topic-\(topic)", isInternal: false, partitions: (0..<partitions).map {
                    .init(errorCode: 0, partitionIndex: PartitionIndex(Int32($0)), leaderID: NodeID(Int32($0 % 3)),
                          leaderEpoch: 7, replicaNodes: [0, 1, 2], isrNodes: [0, 1, 2], offlineReplicas: [])
                })
            })
    }
}
