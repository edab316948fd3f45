import SluiceCore

/// A connection to a Sluice (or any Kafka-protocol) cluster: the entry point of the library.
///
/// ```swift
/// let client = try await SluiceClient(configuration: .init(bootstrap: ["127.0.0.1:9092"]))
/// let producer = client.makeProducer()
/// let sent = try await producer.send(to: TopicName("orders")!, key: Array("user-42".utf8), value: payload)
/// try await producer.close()
/// await client.close()
/// ```
/// One client shares its connections (one per node) and its metadata cache among every
/// producer, consumer and admin call made from it.
public final class SluiceClient: Sendable {
    /// The shared core: connections, metadata, coordinators.
    let cluster: ClusterClient
    /// The settings this client was made with.
    public let configuration: ClientConfiguration

    /// Checks the configuration and reads the cluster's metadata from the first bootstrap
    /// address that answers, so a wrong address or TLS setting fails here, with a sentence
    /// saying what went wrong at each address.
    public init(configuration: ClientConfiguration) async throws(SluiceClientError) {
        self.configuration = configuration
        cluster = try ClusterClient(configuration: configuration)
        do {
            _ = try await cluster.metadata(topics: [], refresh: true)
        } catch {
            await cluster.close()
            throw error
        }
    }

    /// The current metadata: brokers, controller and every topic's partitions (refreshed when
    /// older than ``ClientConfiguration/metadataMaxAge`` or when `refresh` is true).
    public func metadata(refresh: Bool = false) async throws(SluiceClientError) -> ClusterMetadata {
        try await cluster.metadata(topics: nil, refresh: refresh)
    }

    /// Closes every connection. Producers should be closed first (closing flushes them).
    public func close() async {
        await cluster.close()
    }
}
