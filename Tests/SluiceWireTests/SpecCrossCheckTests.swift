import Foundation
import Testing

@testable import SluiceWire

/// Compares the project's definitions with Kafka's JSON message specs, which live outside the
/// repository (../shared/kafka-protocol/specs). For every message and every version Sluice
/// supports: field names, types, order, version ranges, nullability and explicit defaults.
@Suite("Definitions agree with Kafka's JSON specs")
struct SpecCrossCheckTests {
    static let specsDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SluiceWireTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("../shared/kafka-protocol/specs").standardized

    static var specsPresent: Bool {
        FileManager.default.fileExists(atPath: specsDirectory.appendingPathComponent("ProduceRequest.json").path)
    }

    /// Where else to look for a spec the shared folder lacks (it holds only the APIs of DESIGN
    /// §4; the admin APIs came later): `SLUICE_EXTRA_SPECS`, e.g. kafka-python's vendored copy in
    /// `site-packages/kafka/protocol/schemas/resources`.
    static var extraSpecsDirectory: URL? {
        ProcessInfo.processInfo.environment["SLUICE_EXTRA_SPECS"].map { URL(fileURLWithPath: $0) }
    }

    /// The spec file for `name`, or nil when no directory has it.
    static func specFile(named name: String) -> URL? {
        [specsDirectory, extraSpecsDirectory].compactMap { $0?.appendingPathComponent("\(name).json") }
            .first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// Loads a spec, dropping the `//` comment lines the JSON files carry; nil (with a note)
    /// when no spec directory has it, so a message newer than the shared folder is checked
    /// wherever `SLUICE_EXTRA_SPECS` is set and skipped elsewhere.
    static func loadSpec(named name: String) throws -> [String: Any]? {
        guard let file = specFile(named: name) else {
            print("note: no spec for \(name) in \(specsDirectory.path); set SLUICE_EXTRA_SPECS to check it")
            return nil
        }
        let text = try String(contentsOf: file, encoding: .utf8)
        let json = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
            .joined(separator: "\n")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// Parses "3+", "0-2", "5" or "none" and clips it to `within`; nil when they do not meet.
    static func versions(_ text: String?, within: ClosedRange<Int16>) -> ClosedRange<Int16>? {
        guard let text, text != "none" else { return nil }
        let low: Int16
        let high: Int16
        if text.hasSuffix("+") {
            low = Int16(text.dropLast())!
            high = Int16.max
        } else if let dash = text.firstIndex(of: "-") {
            low = Int16(text[..<dash])!
            high = Int16(text[text.index(after: dash)...])!
        } else {
            low = Int16(text)!
            high = low
        }
        let clippedLow = max(low, within.lowerBound)
        let clippedHigh = min(high, within.upperBound)
        return clippedLow <= clippedHigh ? clippedLow...clippedHigh : nil
    }

    @Test("every message, field, type, version range and nullability matches the spec",
          .enabled(if: specsPresent, "../shared/kafka-protocol/specs is absent; CI has it"),
          arguments: definitionSchemas.map(\.name))
    func definitionMatchesSpec(_ name: String) throws {
        let ours = try #require(definitionSchemas.first { $0.name == name })
        guard let spec = try Self.loadSpec(named: name) else { return }
        #expect(spec["type"] as? String == ours.kind)
        #expect((spec["apiKey"] as? Int).map(Int16.init) == ours.apiKey)
        let valid = try #require(Self.versions(spec["validVersions"] as? String, within: 0...Int16.max))
        #expect(valid.contains(ours.versions.lowerBound) && valid.contains(ours.versions.upperBound),
                "\(name) \(ours.versions) is outside the spec's \(valid)")
        #expect(ours.versions.lowerBound == valid.lowerBound, "\(name) should start at the spec's minimum")
        let flexible = Self.versions(spec["flexibleVersions"] as? String, within: 0...Int16.max)
        if let flexibleFrom = ours.flexibleFrom {
            #expect(flexible?.lowerBound == flexibleFrom, "\(name) is flexible from v\(flexibleFrom)")
        } else if let flexible {
            #expect(flexible.lowerBound > ours.versions.upperBound, "\(name) reaches flexible v\(flexible.lowerBound) without flexible=")
        }
        var common: [String: [[String: Any]]] = [:]
        for entry in spec["commonStructs"] as? [[String: Any]] ?? [] {
            common[entry["name"] as! String] = entry["fields"] as? [[String: Any]] ?? []
        }
        compare(ours.fields, spec["fields"] as? [[String: Any]] ?? [], within: ours.versions,
                path: name, common: common)
    }

    private func compare(
        _ ours: [FieldSchema], _ theirs: [[String: Any]], within: ClosedRange<Int16>, path: String,
        common: [String: [[String: Any]]]
    ) {
        // Fields that exist in some supported version and are not tagged (tags are flexible-only).
        let relevant = theirs.filter {
            $0["taggedVersions"] == nil && Self.versions($0["versions"] as? String, within: within) != nil
        }
        #expect(ours.map(\.name) == relevant.map { $0["name"] as! String }, "field names and order in \(path)")
        for (mine, spec) in zip(ours, relevant) {
            let place = "\(path).\(mine.name)"
            let fieldVersions = Self.versions(spec["versions"] as? String, within: within)!
            #expect(mine.type == spec["type"] as? String, "type of \(place)")
            #expect(mine.versions == fieldVersions, "versions of \(place)")
            let nullable = Self.versions(spec["nullableVersions"] as? String, within: fieldVersions)
            #expect(mine.nullable == nullable, "nullable versions of \(place)")
            // Most defaults are JSON strings; a few are bare numbers.
            if let theirDefault = (spec["default"] as? String) ?? (spec["default"] as? NSNumber)?.stringValue {
                let theirs = Self.normalizedDefault(theirDefault)
                let mineDefault = mine.defaultValue.map(Self.normalizedDefault) ?? Self.implicitDefault(mine)
                #expect(mineDefault == theirs, "default of \(place)")
            } else {
                #expect(mine.defaultValue == nil, "default of \(place): the spec has none")
            }
            let element = (spec["type"] as! String).replacingOccurrences(of: "[]", with: "")
            let children = spec["fields"] as? [[String: Any]] ?? common[element] ?? []
            compare(mine.fields, children, within: within, path: place, common: common)
        }
    }

    /// Defaults compare by value: "0x7fffffff" equals "2147483647".
    static func normalizedDefault(_ text: String) -> String {
        if text.hasPrefix("0x"), let value = Int64(text.dropFirst(2), radix: 16) { return "\(value)" }
        if let value = Int64(text) { return "\(value)" }
        return text
    }

    /// What the generated Swift uses when the definition states no default.
    static func implicitDefault(_ field: FieldSchema) -> String {
        if field.type.hasPrefix("[]") { return "[]" }
        switch field.type {
        case "bool": return "false"
        case "string": return ""
        default: return "0"
        }
    }

    @Test("KafkaAPIKey's first flexible version matches every request spec",
          .enabled(if: specsPresent, "../shared/kafka-protocol/specs is absent; CI has it"))
    func firstFlexibleVersionsMatch() throws {
        for schema in definitionSchemas where schema.kind == "request" {
            guard let spec = try Self.loadSpec(named: schema.name) else { continue }
            let key = try #require(KafkaAPIKey(rawValue: schema.apiKey!))
            let flexible = Self.versions(spec["flexibleVersions"] as? String, within: 0...Int16.max)
            #expect(key.firstFlexibleVersion == flexible?.lowerBound, "\(key)")
        }
    }
}
