/// Kafka's error codes (`org.apache.kafka.common.protocol.Errors`), the ones Sluice produces or
/// must understand. Messages carry error codes as plain `Int16` because a peer may send a code
/// newer than this list; `KafkaErrorCode(rawValue:)` is the one place they become typed.
public enum KafkaErrorCode: Int16, CaseIterable, Sendable, CustomStringConvertible {
    case unknownServerError = -1
    case none = 0
    case offsetOutOfRange = 1
    case corruptMessage = 2
    case unknownTopicOrPartition = 3
    case invalidFetchSize = 4
    case leaderNotAvailable = 5
    case notLeaderOrFollower = 6
    case requestTimedOut = 7
    case brokerNotAvailable = 8
    case replicaNotAvailable = 9
    case messageTooLarge = 10
    case offsetMetadataTooLarge = 12
    case networkException = 13
    case coordinatorLoadInProgress = 14
    case coordinatorNotAvailable = 15
    case notCoordinator = 16
    case invalidTopicException = 17
    case recordListTooLarge = 18
    case notEnoughReplicas = 19
    case notEnoughReplicasAfterAppend = 20
    case invalidRequiredAcks = 21
    case illegalGeneration = 22
    case inconsistentGroupProtocol = 23
    case invalidGroupID = 24
    case unknownMemberID = 25
    case invalidSessionTimeout = 26
    case rebalanceInProgress = 27
    case invalidCommitOffsetSize = 28
    case topicAuthorizationFailed = 29
    case groupAuthorizationFailed = 30
    case clusterAuthorizationFailed = 31
    case invalidTimestamp = 32
    case unsupportedSASLMechanism = 33
    case illegalSASLState = 34
    case unsupportedVersion = 35
    case topicAlreadyExists = 36
    case invalidPartitions = 37
    case invalidReplicationFactor = 38
    case invalidReplicaAssignment = 39
    case invalidConfig = 40
    case notController = 41
    case invalidRequest = 42
    case unsupportedForMessageFormat = 43
    case policyViolation = 44
    case outOfOrderSequenceNumber = 45
    case duplicateSequenceNumber = 46
    case invalidProducerEpoch = 47
    case invalidTransactionTimeout = 50
    case concurrentTransactions = 51
    case kafkaStorageError = 56
    case saslAuthenticationFailed = 58
    case unknownProducerID = 59
    case reassignmentInProgress = 60
    case nonEmptyGroup = 68
    case groupIDNotFound = 69
    case fetchSessionIDNotFound = 70
    case invalidFetchSessionEpoch = 71
    case listenerNotFound = 72
    case topicDeletionDisabled = 73
    case fencedLeaderEpoch = 74
    case unknownLeaderEpoch = 75
    case unsupportedCompressionType = 76
    case staleBrokerEpoch = 77
    case offsetNotAvailable = 78
    case memberIDRequired = 79
    case preferredLeaderNotAvailable = 80
    case groupMaxSizeReached = 81
    case fencedInstanceID = 82
    case eligibleLeadersNotAvailable = 83
    case electionNotNeeded = 84
    case groupSubscribedToTopic = 86
    case invalidRecord = 87
    case throttlingQuotaExceeded = 89
    case producerFenced = 90
    case invalidUpdateVersion = 95
    case unknownTopicID = 100
    case ineligibleReplica = 107
    case unsupportedEndpointType = 115

    /// Kafka's constant name, e.g. `NOT_LEADER_OR_FOLLOWER`, as client logs show it.
    public var name: String { Self.table[self]!.name }

    /// A sentence a user can act on.
    public var description: String { "\(name) (\(rawValue)): \(Self.table[self]!.meaning)" }

    /// Whether a client may retry the same request (Kafka's `RetriableException` subclasses).
    public var isRetriable: Bool {
        switch self {
        case .corruptMessage, .unknownTopicOrPartition, .leaderNotAvailable, .notLeaderOrFollower,
            .requestTimedOut, .networkException, .coordinatorLoadInProgress,
            .coordinatorNotAvailable, .notCoordinator, .notEnoughReplicas,
            .notEnoughReplicasAfterAppend, .notController, .kafkaStorageError,
            .fetchSessionIDNotFound, .invalidFetchSessionEpoch, .listenerNotFound,
            .fencedLeaderEpoch, .unknownLeaderEpoch, .offsetNotAvailable,
            .preferredLeaderNotAvailable, .concurrentTransactions, .reassignmentInProgress,
            .throttlingQuotaExceeded, .unknownTopicID, .replicaNotAvailable:
            true
        default:
            false
        }
    }

    private static let table: [KafkaErrorCode: (name: String, meaning: String)] = [
        .unknownServerError: ("UNKNOWN_SERVER_ERROR", "the server hit an unexpected error"),
        .none: ("NONE", "no error"),
        .offsetOutOfRange: ("OFFSET_OUT_OF_RANGE", "the requested offset is outside the log"),
        .corruptMessage: ("CORRUPT_MESSAGE", "a record batch failed its CRC or size checks"),
        .unknownTopicOrPartition: ("UNKNOWN_TOPIC_OR_PARTITION", "this server does not host the topic-partition"),
        .invalidFetchSize: ("INVALID_FETCH_SIZE", "the requested fetch size is invalid"),
        .leaderNotAvailable: ("LEADER_NOT_AVAILABLE", "the partition has no leader right now (e.g. during an election)"),
        .notLeaderOrFollower: ("NOT_LEADER_OR_FOLLOWER", "this server is not the partition's leader; refresh metadata"),
        .requestTimedOut: ("REQUEST_TIMED_OUT", "the request timed out"),
        .brokerNotAvailable: ("BROKER_NOT_AVAILABLE", "the broker is not available"),
        .replicaNotAvailable: ("REPLICA_NOT_AVAILABLE", "a replica is not available"),
        .messageTooLarge: ("MESSAGE_TOO_LARGE", "the batch is larger than the server accepts"),
        .offsetMetadataTooLarge: ("OFFSET_METADATA_TOO_LARGE", "the committed offset's metadata string is too long"),
        .networkException: ("NETWORK_EXCEPTION", "the connection failed before the request completed"),
        .coordinatorLoadInProgress: ("COORDINATOR_LOAD_IN_PROGRESS", "the group coordinator is still loading"),
        .coordinatorNotAvailable: ("COORDINATOR_NOT_AVAILABLE", "the group coordinator is not available"),
        .notCoordinator: ("NOT_COORDINATOR", "this server is not the group's coordinator"),
        .invalidTopicException: ("INVALID_TOPIC_EXCEPTION", "the topic name is invalid or reserved"),
        .recordListTooLarge: ("RECORD_LIST_TOO_LARGE", "the produce request's records exceed the segment size"),
        .notEnoughReplicas: ("NOT_ENOUGH_REPLICAS", "fewer in-sync replicas than min.insync.replicas; nothing was written"),
        .notEnoughReplicasAfterAppend: ("NOT_ENOUGH_REPLICAS_AFTER_APPEND", "written, but the in-sync set shrank below min.insync.replicas"),
        .invalidRequiredAcks: ("INVALID_REQUIRED_ACKS", "acks must be -1, 0 or 1"),
        .illegalGeneration: ("ILLEGAL_GENERATION", "the group generation is not the current one"),
        .inconsistentGroupProtocol: ("INCONSISTENT_GROUP_PROTOCOL", "the member's protocol type or protocols do not match the group's"),
        .invalidGroupID: ("INVALID_GROUP_ID", "the group id is empty or invalid"),
        .unknownMemberID: ("UNKNOWN_MEMBER_ID", "the coordinator does not know this member id"),
        .invalidSessionTimeout: ("INVALID_SESSION_TIMEOUT", "the session timeout is outside the allowed range"),
        .rebalanceInProgress: ("REBALANCE_IN_PROGRESS", "the group is rebalancing; rejoin"),
        .invalidCommitOffsetSize: ("INVALID_COMMIT_OFFSET_SIZE", "the offset commit is too large"),
        .topicAuthorizationFailed: ("TOPIC_AUTHORIZATION_FAILED", "not authorized to access the topic"),
        .groupAuthorizationFailed: ("GROUP_AUTHORIZATION_FAILED", "not authorized to access the group"),
        .clusterAuthorizationFailed: ("CLUSTER_AUTHORIZATION_FAILED", "not authorized for this cluster operation"),
        .invalidTimestamp: ("INVALID_TIMESTAMP", "a timestamp is outside the accepted range"),
        .unsupportedSASLMechanism: ("UNSUPPORTED_SASL_MECHANISM", "the SASL mechanism is not enabled"),
        .illegalSASLState: ("ILLEGAL_SASL_STATE", "the request is not valid in the current SASL state"),
        .unsupportedVersion: ("UNSUPPORTED_VERSION", "the server does not support this API version"),
        .topicAlreadyExists: ("TOPIC_ALREADY_EXISTS", "the topic already exists"),
        .invalidPartitions: ("INVALID_PARTITIONS", "the partition count is invalid"),
        .invalidReplicationFactor: ("INVALID_REPLICATION_FACTOR", "the replication factor is invalid or larger than the cluster"),
        .invalidReplicaAssignment: ("INVALID_REPLICA_ASSIGNMENT", "the replica assignment is invalid"),
        .invalidConfig: ("INVALID_CONFIG", "a configuration value is invalid"),
        .notController: ("NOT_CONTROLLER", "this server is not the controller"),
        .invalidRequest: ("INVALID_REQUEST", "the request is malformed or inconsistent"),
        .unsupportedForMessageFormat: ("UNSUPPORTED_FOR_MESSAGE_FORMAT", "the message format version does not support this request"),
        .policyViolation: ("POLICY_VIOLATION", "the request violates a server policy"),
        .outOfOrderSequenceNumber: ("OUT_OF_ORDER_SEQUENCE_NUMBER", "the producer's sequence number is out of order"),
        .duplicateSequenceNumber: ("DUPLICATE_SEQUENCE_NUMBER", "the batch was already written"),
        .invalidProducerEpoch: ("INVALID_PRODUCER_EPOCH", "the producer epoch is older than the current one"),
        .invalidTransactionTimeout: ("INVALID_TRANSACTION_TIMEOUT", "the transaction timeout is out of range"),
        .concurrentTransactions: ("CONCURRENT_TRANSACTIONS", "another transaction is still completing"),
        .kafkaStorageError: ("KAFKA_STORAGE_ERROR", "the replica's log directory is unavailable"),
        .saslAuthenticationFailed: ("SASL_AUTHENTICATION_FAILED", "SASL authentication failed"),
        .unknownProducerID: ("UNKNOWN_PRODUCER_ID", "the server has no state for this producer id"),
        .reassignmentInProgress: ("REASSIGNMENT_IN_PROGRESS", "a partition reassignment is in progress"),
        .nonEmptyGroup: ("NON_EMPTY_GROUP", "the group still has members"),
        .groupIDNotFound: ("GROUP_ID_NOT_FOUND", "the group does not exist"),
        .fetchSessionIDNotFound: ("FETCH_SESSION_ID_NOT_FOUND", "the fetch session is unknown"),
        .invalidFetchSessionEpoch: ("INVALID_FETCH_SESSION_EPOCH", "the fetch session epoch is wrong"),
        .listenerNotFound: ("LISTENER_NOT_FOUND", "the leader has no listener of this name"),
        .topicDeletionDisabled: ("TOPIC_DELETION_DISABLED", "topic deletion is disabled"),
        .fencedLeaderEpoch: ("FENCED_LEADER_EPOCH", "the request's leader epoch is older than the replica's"),
        .unknownLeaderEpoch: ("UNKNOWN_LEADER_EPOCH", "the request's leader epoch is newer than the replica's"),
        .unsupportedCompressionType: ("UNSUPPORTED_COMPRESSION_TYPE", "the compression type is not supported for this request"),
        .staleBrokerEpoch: ("STALE_BROKER_EPOCH", "the broker epoch is stale"),
        .offsetNotAvailable: ("OFFSET_NOT_AVAILABLE", "the leader's high watermark is not yet known"),
        .memberIDRequired: ("MEMBER_ID_REQUIRED", "rejoin with the member id in this response"),
        .preferredLeaderNotAvailable: ("PREFERRED_LEADER_NOT_AVAILABLE", "the preferred leader is not available"),
        .groupMaxSizeReached: ("GROUP_MAX_SIZE_REACHED", "the group is full"),
        .fencedInstanceID: ("FENCED_INSTANCE_ID", "another member with this group.instance.id replaced this one"),
        .groupSubscribedToTopic: ("GROUP_SUBSCRIBED_TO_TOPIC", "the group's members are subscribed to this topic; its offsets cannot be deleted"),
        .invalidRecord: ("INVALID_RECORD", "a record failed validation"),
        .throttlingQuotaExceeded: ("THROTTLING_QUOTA_EXCEEDED", "a quota was exceeded"),
        .producerFenced: ("PRODUCER_FENCED", "a newer producer with the same transactional id exists"),
        .invalidUpdateVersion: ("INVALID_UPDATE_VERSION", "the partition change was based on a stale partition epoch"),
        .unknownTopicID: ("UNKNOWN_TOPIC_ID", "this server does not know the topic id"),
        .eligibleLeadersNotAvailable: ("ELIGIBLE_LEADERS_NOT_AVAILABLE", "no other in-sync replica can lead the partition"),
        .electionNotNeeded: ("ELECTION_NOT_NEEDED", "the partition already has the leader the election would pick"),
        .ineligibleReplica: ("INELIGIBLE_REPLICA", "a replica proposed for the ISR is fenced or not registered"),
        .unsupportedEndpointType: ("UNSUPPORTED_ENDPOINT_TYPE", "this server does not describe that endpoint type"),
    ]
}
