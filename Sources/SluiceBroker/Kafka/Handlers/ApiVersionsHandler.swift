import SluiceWire

/// ApiVersions (key 18): the versions every registered handler declares. v3 is flexible (its
/// response header stays v0, KIP-511); v4+ never reach here: the dispatcher answers them
/// with Kafka's v0 fallback.
struct ApiVersionsHandler: KafkaAPIHandler {
    typealias Request = ApiVersionsRequest
    static let versions: ClosedRange<Int16> = 0...3
    let advertised: [(key: KafkaAPIKey, versions: ClosedRange<Int16>)]

    func handle(_ request: ApiVersionsRequest, _ context: RequestContext) async -> ApiVersionsResponse? {
        ApiVersionsResponse(
            errorCode: KafkaErrorCode.none.rawValue,
            apiKeys: advertised.map {
                .init(apiKey: $0.key.rawValue, minVersion: $0.versions.lowerBound, maxVersion: $0.versions.upperBound)
            })
    }
}
