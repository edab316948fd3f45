import ArgumentParser
import Foundation

/// `--output text|json`: how a command prints its data.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Aligned tables and sentences for people.
    case text
    /// One JSON document with stable, snake_case keys, for scripts.
    case json
}

/// The `--output` option shared by every command that prints data.
struct OutputOptions: ParsableArguments {
    @Option(help: "How to print: text (tables for people) or json (one document with stable keys, for scripts).")
    var output: OutputFormat = .text

    var isJSON: Bool { output == .json }

    /// Prints `value` as one JSON document (keys sorted, snake_case).
    func printJSON<T: Encodable>(_ value: T) throws {
        print(try JSONText.encode(value))
    }
}

/// JSON encoding with the settings every command shares.
enum JSONText {
    static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            : [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A plain text table: columns padded to their widest cell.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) {
        self.header = header
    }

    mutating func add(_ cells: String...) {
        rows.append(cells)
    }

    var rendered: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Writes to standard error (progress and warnings that must not mix with data on stdout).
enum StandardError {
    static func write(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
