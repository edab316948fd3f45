import COpenSSL

/// One entry of OpenSSL's thread-local error queue.
struct OpenSSLErrorEntry: Equatable {
    var code: UInt
    var library: Int32 { Int32(sluice_ERR_GET_LIB(code)) }
    var reason: Int32 { Int32(sluice_ERR_GET_REASON(code)) }
    var isSSLLibrary: Bool { library == Int32(sluice_ERR_LIB_SSL()) }
    /// e.g. "error:0A000086:SSL routines::certificate verify failed".
    var text: String {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    /// Just the reason, e.g. "tlsv1 alert unknown ca".
    var reasonText: String {
        ERR_reason_error_string(code).map { String(cString: $0) } ?? text
    }
}

enum OpenSSLErrorQueue {
    /// Empties the calling thread's error queue and returns what was in it, oldest first.
    /// Every OpenSSL failure path drains it, so a stale entry never explains a later error.
    static func drain() -> [OpenSSLErrorEntry] {
        var entries: [OpenSSLErrorEntry] = []
        while case let code = ERR_get_error(), code != 0 {
            entries.append(OpenSSLErrorEntry(code: code))
        }
        return entries
    }

    static func describe(_ entries: [OpenSSLErrorEntry]) -> String {
        entries.isEmpty ? "no OpenSSL error recorded" : entries.map(\.text).joined(separator: "; ")
    }

    static func drainDescription() -> String { describe(drain()) }
}
