import NIOCore
import Testing

@testable import SluiceWire

@Suite("Advertised API versions")
struct SupportedAPIsTests {
    @Test("every advertised version decodes, and every decodable API is advertised to its maximum")
    func advertisedMatchesDecodable() throws {
        for (key, versions) in SupportedAPIs.advertised {
            let decodable = try #require(KafkaRequest.versions(apiKey: key.rawValue), "\(key)")
            #expect(decodable == versions, "\(key)")
            // A flexible version is advertised only where the definitions implement it, from
            // the version Kafka's spec (and KafkaAPIKey) makes flexible, in request and response.
            guard key.isFlexible(versions.upperBound) else { continue }
            let schemas = definitionSchemas.filter { $0.apiKey == key.rawValue }
            #expect(schemas.count == 2, "\(key)")
            for schema in schemas {
                #expect(schema.flexibleFrom == key.firstFlexibleVersion, "\(schema.name) implements no flexible version")
            }
        }
        #expect(SupportedAPIs.advertised.count == 29)
        #expect(SupportedAPIs.advertised.map(\.key.rawValue) == SupportedAPIs.advertised.map(\.key.rawValue).sorted())
    }

    /// librdkafka < 2.11.1 enables features only when the broker's range overlaps these exact
    /// versions (rdkafka_feature.c); missing one silently disables compression or groups.
    @Test("the old versions librdkafka < 2.11.1 checks for are inside the advertised ranges",
          arguments: [
            (KafkaAPIKey.produce, Int16(0)), (.produce, 2), (.produce, 3), (.produce, 7),
            (.fetch, 2), (.fetch, 4), (.fetch, 10), (.findCoordinator, 0), (.offsetCommit, 2),
            (.offsetFetch, 1), (.joinGroup, 0), (.syncGroup, 0), (.heartbeat, 0), (.leaveGroup, 0),
            (.listOffsets, 1), (.initProducerID, 0), (.apiVersions, 0),
          ])
    func librdkafkaExactVersionsAreAdvertised(key: KafkaAPIKey, version: Int16) throws {
        let range = try #require(SupportedAPIs.versions(of: key))
        #expect(range.contains(version))
    }

    @Test("kafka-python's broker-version markers are advertised: Produce 8, Fetch 11, Metadata 4")
    func kafkaPythonMarkers() {
        #expect(SupportedAPIs.versions(of: .produce)?.upperBound == 8)
        #expect(SupportedAPIs.versions(of: .fetch)?.upperBound == 11)
        #expect(SupportedAPIs.versions(of: .metadata)?.contains(4) == true)
    }

    @Test("the ApiVersions response lists every advertised range")
    func apiVersionsResponseListsRanges() throws {
        let response = SupportedAPIs.apiVersionsResponse()
        let decoded = try ApiVersionsResponse.decode(exactly: response.encoded(version: 2), version: 2)
        #expect(decoded.errorCode == 0)
        #expect(decoded.apiKeys.count == SupportedAPIs.advertised.count)
        #expect(decoded.apiKeys.contains(.init(apiKey: 10, minVersion: 0, maxVersion: 2)))
    }

    @Test("error codes carry Kafka's names and their wire values")
    func errorCodes() {
        #expect(KafkaErrorCode.unsupportedVersion.rawValue == 35)
        #expect(KafkaErrorCode.unknownServerError.rawValue == -1)
        #expect(KafkaErrorCode.notLeaderOrFollower.name == "NOT_LEADER_OR_FOLLOWER")
        #expect(KafkaErrorCode(rawValue: 79) == .memberIDRequired)
        #expect(KafkaErrorCode.notLeaderOrFollower.isRetriable)
        #expect(!KafkaErrorCode.topicAlreadyExists.isRetriable)
        for code in KafkaErrorCode.allCases {
            #expect(code.description.hasPrefix("\(code.name) (\(code.rawValue)): "))
        }
        let names = KafkaErrorCode.allCases.map(\.name)
        #expect(Set(names).count == names.count)
    }

    @Test("response header versions: ApiVersions always v0, flexible versions v1")
    func responseHeaderVersions() {
        #expect(ResponseHeader.version(apiKey: 18, apiVersion: 3) == 0)
        #expect(ResponseHeader.version(apiKey: 3, apiVersion: 8) == 0)
        #expect(ResponseHeader.version(apiKey: 3, apiVersion: 9) == 1)
        #expect(RequestHeader.version(apiKey: 18, apiVersion: 3) == 2)
        #expect(RequestHeader.version(apiKey: 0, apiVersion: 8) == 1)
    }
}
