import SluiceWire

/// A response whose error codes `/metrics` counts (`sluice_request_errors_total`): every code
/// other than NONE it carries, one per failing partition, topic, member or the request itself.
/// An empty array allocates nothing, so a response without errors costs a walk of its
/// partitions and no allocation.
protocol ErrorCodeReporting {
    var errorCodes: [Int16] { get }
}

private func nonZero(_ codes: some Sequence<Int16>) -> [Int16] {
    var found: [Int16] = []
    for code in codes where code != 0 { found.append(code) }
    return found
}

extension ProduceResponse: ErrorCodeReporting {
    var errorCodes: [Int16] { nonZero(responses.lazy.flatMap { $0.partitionResponses.lazy.map(\.errorCode) }) }
}

extension FetchResponse: ErrorCodeReporting {
    var errorCodes: [Int16] {
        nonZero(CollectionOfOne(errorCode)) + nonZero(responses.lazy.flatMap { $0.partitions.lazy.map(\.errorCode) })
    }
}

extension ListOffsetsResponse: ErrorCodeReporting {
    var errorCodes: [Int16] { nonZero(topics.lazy.flatMap { $0.partitions.lazy.map(\.errorCode) }) }
}

extension MetadataResponse: ErrorCodeReporting {
    var errorCodes: [Int16] {
        nonZero(topics.lazy.map(\.errorCode)) + nonZero(topics.lazy.flatMap { $0.partitions.lazy.map(\.errorCode) })
    }
}

extension OffsetCommitResponse: ErrorCodeReporting {
    var errorCodes: [Int16] { nonZero(topics.lazy.flatMap { $0.partitions.lazy.map(\.errorCode) }) }
}

extension OffsetFetchResponse: ErrorCodeReporting {
    var errorCodes: [Int16] { nonZero(CollectionOfOne(errorCode)) + nonZero(topics.lazy.flatMap { $0.partitions.lazy.map(\.errorCode) }) }
}

extension CreateTopicsResponse: ErrorCodeReporting {
    var errorCodes: [Int16] { nonZero(topics.lazy.map(\.errorCode)) }
}

extension FindCoordinatorResponse: ErrorCodeReporting { var errorCodes: [Int16] { nonZero(CollectionOfOne(errorCode)) } }
extension JoinGroupResponse: ErrorCodeReporting { var errorCodes: [Int16] { nonZero(CollectionOfOne(errorCode)) } }
extension SyncGroupResponse: ErrorCodeReporting { var errorCodes: [Int16] { nonZero(CollectionOfOne(errorCode)) } }
extension HeartbeatResponse: ErrorCodeReporting { var errorCodes: [Int16] { nonZero(CollectionOfOne(errorCode)) } }

extension LeaveGroupResponse: ErrorCodeReporting {
    var errorCodes: [Int16] { nonZero(CollectionOfOne(errorCode)) + nonZero(members.lazy.map(\.errorCode)) }
}
