/// The Kafka APIs Sluice knows by key. Raw values are the wire's `api_key`.
///
/// The request and response layouts live in `Generated/`; this enum adds what the header codec
/// and the ApiVersions logic need to know about a key without decoding its body.
public enum KafkaAPIKey: Int16, CaseIterable, Sendable, CustomStringConvertible {
    case produce = 0
    case fetch = 1
    case listOffsets = 2
    case metadata = 3
    case offsetCommit = 8
    case offsetFetch = 9
    case findCoordinator = 10
    case joinGroup = 11
    case heartbeat = 12
    case leaveGroup = 13
    case syncGroup = 14
    case describeGroups = 15
    case listGroups = 16
    case saslHandshake = 17
    case apiVersions = 18
    case createTopics = 19
    case deleteTopics = 20
    case deleteRecords = 21
    case initProducerID = 22
    case offsetForLeaderEpoch = 23
    case describeConfigs = 32
    case alterConfigs = 33
    case describeLogDirs = 35
    case saslAuthenticate = 36
    case createPartitions = 37
    case deleteGroups = 42
    case electLeaders = 43
    case incrementalAlterConfigs = 44
    case offsetDelete = 47
    case describeQuorum = 55
    case describeCluster = 60

    /// The first version whose request uses the flexible encoding (request header v2, compact
    /// strings, tagged fields), from Kafka's specs; `nil` if no version is flexible. The header
    /// codec needs it for every key, even for versions Sluice does not serve: it must still
    /// find the correlation id of such a request (ApiVersions v4+ gets the fallback, KIP-511).
    public var firstFlexibleVersion: Int16? {
        switch self {
        case .produce: 9
        case .fetch: 12
        case .listOffsets: 6
        case .metadata: 9
        case .offsetCommit: 8
        case .offsetFetch: 6
        case .findCoordinator: 3
        case .joinGroup: 6
        case .heartbeat: 4
        case .leaveGroup: 4
        case .syncGroup: 4
        case .describeGroups: 5
        case .listGroups: 3
        case .saslHandshake: nil
        case .apiVersions: 3
        case .createTopics: 5
        case .deleteTopics: 4
        case .deleteRecords: 2
        case .initProducerID: 2
        case .offsetForLeaderEpoch: 4
        case .describeConfigs: 4
        case .alterConfigs: 2
        case .describeLogDirs: 2
        case .saslAuthenticate: 2
        case .createPartitions: 2
        case .deleteGroups: 2
        case .electLeaders: 2
        case .incrementalAlterConfigs: 1
        case .offsetDelete: nil
        case .describeQuorum: 0
        case .describeCluster: 0
        }
    }

    /// Whether `version` of this API uses the flexible encoding.
    public func isFlexible(_ version: Int16) -> Bool {
        firstFlexibleVersion.map { version >= $0 } ?? false
    }

    public var description: String {
        switch self {
        case .produce: "Produce"
        case .fetch: "Fetch"
        case .listOffsets: "ListOffsets"
        case .metadata: "Metadata"
        case .offsetCommit: "OffsetCommit"
        case .offsetFetch: "OffsetFetch"
        case .findCoordinator: "FindCoordinator"
        case .joinGroup: "JoinGroup"
        case .heartbeat: "Heartbeat"
        case .leaveGroup: "LeaveGroup"
        case .syncGroup: "SyncGroup"
        case .describeGroups: "DescribeGroups"
        case .listGroups: "ListGroups"
        case .saslHandshake: "SaslHandshake"
        case .apiVersions: "ApiVersions"
        case .createTopics: "CreateTopics"
        case .deleteTopics: "DeleteTopics"
        case .deleteRecords: "DeleteRecords"
        case .initProducerID: "InitProducerId"
        case .offsetForLeaderEpoch: "OffsetForLeaderEpoch"
        case .describeConfigs: "DescribeConfigs"
        case .alterConfigs: "AlterConfigs"
        case .describeLogDirs: "DescribeLogDirs"
        case .saslAuthenticate: "SaslAuthenticate"
        case .createPartitions: "CreatePartitions"
        case .deleteGroups: "DeleteGroups"
        case .electLeaders: "ElectLeaders"
        case .incrementalAlterConfigs: "IncrementalAlterConfigs"
        case .offsetDelete: "OffsetDelete"
        case .describeQuorum: "DescribeQuorum"
        case .describeCluster: "DescribeCluster"
        }
    }
}
