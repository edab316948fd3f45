import Foundation

/// Reads ISO-8601 times for `--from`.
enum ISO8601Time {
    /// Milliseconds since the epoch of `text` (`2026-11-21T10:00:00Z`, with optional fractional
    /// seconds and a zone offset, or a date `2026-11-21` meaning its midnight UTC); nil if unreadable.
    static func epochMilliseconds(_ text: String) -> Int64? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        for formatter in [plain, withFraction, day] {
            if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        return nil
    }
}
