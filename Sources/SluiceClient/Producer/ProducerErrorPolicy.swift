import SluiceWire

/// What the producer does with a batch whose Produce attempt failed: a pure decision from the
/// error and the batch's place in its partition, following Kafka's producer.
enum ProducerErrorPolicy: Equatable {
    /// Send it again (after a backoff), keeping its sequence; refresh metadata first if
    /// `refreshMetadata`.
    case retry(refreshMetadata: Bool)
    /// Get a new producer id, re-sequence every unacknowledged batch, then send it again
    /// (UNKNOWN_PRODUCER_ID: the node lost this producer's state; nothing of the batch was written).
    case retryWithNewProducerID
    /// Report the error to the batch's records.
    case fail

    /// - Parameters:
    ///   - isFirstUnacknowledged: the batch has the lowest unacknowledged sequence of its partition.
    static func decide(_ error: SluiceClientError, isFirstUnacknowledged: Bool) -> ProducerErrorPolicy {
        guard case .server(let code, _, _, _) = error else {
            return error.isRetriable ? .retry(refreshMetadata: error.invalidatesMetadata) : .fail
        }
        switch code {
        case .outOfOrderSequenceNumber:
            // A later batch arrived before an earlier one that failed: it is resent after it.
            // For the first unacknowledged batch it means the node lost acknowledged records;
            // Kafka fails the batch (OutOfOrderSequenceException), and so does this producer.
            return isFirstUnacknowledged ? .fail : .retry(refreshMetadata: false)
        case .unknownProducerID:
            return .retryWithNewProducerID
        case .unknownTopicOrPartition:
            // Retriable in Kafka: right after a create, a node may not know the topic yet.
            return .retry(refreshMetadata: true)
        default:
            return code.isRetriable ? .retry(refreshMetadata: error.invalidatesMetadata) : .fail
        }
    }
}
