/// One message of the definitions, as the generator read it (see `definitionSchemas`).
struct MessageSchema: Sendable {
    let name: String
    let kind: String
    let apiKey: Int16?
    let versions: ClosedRange<Int16>
    /// The first flexible version (`flexible=N+` in the definition), or nil.
    let flexibleFrom: Int16?
    let fields: [FieldSchema]
}

/// One field: its wire type without the Swift strong type (`[]int32`, not `[]int32:NodeID`).
struct FieldSchema: Sendable {
    let name: String
    let type: String
    let versions: ClosedRange<Int16>
    let nullable: ClosedRange<Int16>?
    let defaultValue: String?
    let fields: [FieldSchema]
}
