import ArgumentParser
import SluiceClient
import SluiceCore

/// `sluice bench produce|consume`: throughput and latency of the client against a cluster.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure producing or consuming: records/s, MB/s and latency percentiles (HDR histogram).",
        subcommands: [Produce.self, Consume.self])

    /// `sluice bench produce`.
    struct Produce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send --records records of --record-size bytes (no key: spread round-robin) as fast as the producer takes them.",
            discussion: """
                Latency is each record's time from being handed to the producer to its acknowledgement. \
                Throughput counts value bytes (MB = 10^6 bytes) over the time from the first send to the \
                last acknowledgement.
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "The topic (it must exist).") var topic: TopicArgument
        @Option(help: "Records to send.") var records = 1_000_000
        @Option(help: "Bytes of each record's value.") var recordSize = 100
        @Option(help: "all, 1 or 0.") var acks = AcksArgument(.all)
        @Option(help: "none, lz4 or gzip.") var compression = CompressionArgument(.none)
        @Option(help: "Bytes a partition's batch collects before it is sent.") var batchSize = ProducerOptions().batchBytes
        @Option(help: "Milliseconds a batch waits for more records.") var lingerMs = 5

        func validate() throws {
            guard (1...100_000_000).contains(records) else { throw ValidationError("--records must lie in 1…100000000.") }
            guard (0...1_000_000).contains(recordSize) else { throw ValidationError("--record-size must lie in 0…1000000.") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 byte.") }
            guard (0...60_000).contains(lingerMs) else { throw ValidationError("--linger-ms must lie in 0…60000.") }
        }

        func run() async throws {
            let options = ProducerOptions.fromFlags(acks: acks, compression: compression, lingerMs: lingerMs,
                                                    batchSize: batchSize, partitioning: .balanced)
            // One record, built once: its value's storage is shared by every send.
            let record = ProducerRecord(topic: topic.name, key: nil, value: [UInt8](repeating: UInt8(ascii: "x"), count: recordSize))
            let latencies = Locked(LatencyHistogram())
            let failures = Locked((count: 0, first: SluiceClientError?.none))
            let elapsed = try await cluster.withClient { client in
                let producer = client.makeProducer(options)
                let clock = ContinuousClock()
                let started = clock.now
                do {
                    for _ in 0..<records {
                        let sent = clock.now
                        try await producer.sendAndForget(record) { result in
                            let latency = clock.now - sent
                            if case .failure(let error) = result {
                                failures.withLock { if $0.first == nil { $0.first = error }; $0.count += 1 }
                            }
                            latencies.withLock { $0.record(latency) }
                        }
                    }
                    try await producer.flush()
                } catch {
                    try? await producer.close()
                    throw error
                }
                let elapsed = clock.now - started
                try await producer.close()
                return elapsed
            }
            let failed = failures.withLock { $0 }
            if let first = failed.first {
                throw CLIError("\(failed.count) of \(records) records failed: " + CLIError.sentence(for: first))
            }
            let result = BenchResult(kind: "produce", topic: topic.name.rawValue, records: records, bytes: records * recordSize,
                                     elapsed: elapsed, latency: latencies.withLock { $0.summary }, latencyMeaning: "send to acknowledgement",
                                     settings: ["acks": acks.name, "compression": compression.codec.description,
                                                "batch_size": "\(batchSize)", "linger_ms": "\(lingerMs)", "record_size": "\(recordSize)"])
            try result.print(output)
        }
    }

    /// `sluice bench consume`.
    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read --records records from the start of every partition of a topic as fast as the consumer hands them out.",
            discussion: """
                Latency is the wait for each next record from the consumer's sequence (fetching shows up \
                in the high percentiles). The topic must hold at least --records records (fill it with \
                `sluice bench produce`).
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "The topic.") var topic: TopicArgument
        @Option(help: "Records to read.") var records = 1_000_000
        @Option(help: "Stop with an error after this many seconds without a record.") var timeout = 10.0

        func validate() throws {
            guard (1...100_000_000).contains(records) else { throw ValidationError("--records must lie in 1…100000000.") }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive.") }
        }

        func run() async throws {
            var latencies = LatencyHistogram()
            var bytes = 0
            var read = 0
            let clock = ContinuousClock()
            let elapsed = try await cluster.withClient { client in
                let metadata = try await client.metadata(refresh: true)
                guard let count = metadata.partitionCount(of: topic.name) else { throw SluiceClientError.unknownTopic(topic.name) }
                let consumer = client.makeConsumer(ConsumerOptions())
                let started = clock.now
                var last = started
                do {
                    try await consumer.assign((0..<count).map { TopicPartition(topic.name, PartitionIndex(Int32($0))) },
                                              from: .earliest)
                } catch {
                    await consumer.close()
                    throw error
                }
                _ = try await ConsumeSession(consumer: consumer, count: records,
                                             idleTimeout: .milliseconds(Int64(timeout * 1000))).run { record in
                    let now = clock.now
                    latencies.record(now - last)
                    last = now
                    bytes += record.value?.readableBytes ?? 0
                    read += 1
                    return true
                }
                return last - started
            }
            guard read == records else {
                throw CLIError("only \(read) of \(records) records arrived within \(timeout) s of silence: "
                               + "the topic holds fewer; fill it first with `sluice bench produce --topic \(topic.name) --records \(records)`")
            }
            let result = BenchResult(kind: "consume", topic: topic.name.rawValue, records: read, bytes: bytes, elapsed: elapsed,
                                     latency: latencies.summary, latencyMeaning: "wait for each next record",
                                     settings: [:])
            try result.print(output)
        }
    }
}
