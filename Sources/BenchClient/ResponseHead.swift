import Glibc

/// An HTTP/1.1 response head, parsed from the bytes the server sent. Pure: no I/O.
///
/// Only what the load generator needs is kept: status, body framing, the session id, the
/// content type and whether the server will close the connection.
public struct ResponseHead: Equatable, Sendable {
    public var status: Int = 0
    /// Bytes of status line, headers and the blank line.
    public var headLength: Int = 0
    /// -1 when absent.
    public var contentLength: Int = -1
    public var chunked = false
    public var close = false
    public var sessionID: String?
    public var contentType: String?

    public enum ParseError: Error, Equatable { case malformed, tooLong }

    /// Limit on a head; larger heads are a malformed answer for a benchmark.
    public static let maxHeadLength = 16 * 1024

    /// Parses a head from the start of `bytes`. Returns nil when more bytes are needed.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> ResponseHead? {
        guard let end = headEnd(bytes) else {
            if bytes.count > maxHeadLength { throw .tooLong }
            return nil
        }
        var head = ResponseHead()
        head.headLength = end + 4
        var lineStart = 0
        var first = true
        var http10 = false
        while lineStart < end {
            var lineEnd = lineStart
            while lineEnd + 1 < end + 2, !(bytes[lineEnd] == 13 && bytes[lineEnd + 1] == 10) { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            if first {
                // "HTTP/1.1 200 OK"
                guard line.count >= 12, line[0] == 72, line[4] == 47, line[8] == 32 else { throw .malformed }
                http10 = line[7] == 48
                var code = 0
                for i in 9..<12 {
                    let d = Int(line[i]) - 48
                    guard d >= 0, d <= 9 else { throw .malformed }
                    code = code * 10 + d
                }
                head.status = code
                first = false
            } else {
                guard let colon = line.firstIndex(of: 58) else { throw .malformed }
                let name = lowercased(UnsafeRawBufferPointer(rebasing: line[..<colon]))
                let value = trimmed(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
                switch name {
                case "content-length":
                    guard let n = Int(value), n >= 0 else { throw .malformed }
                    head.contentLength = n
                case "transfer-encoding":
                    head.chunked = value.lowercased().contains("chunked")
                case "connection":
                    let v = value.lowercased()
                    if v.contains("close") { head.close = true }
                    if v.contains("keep-alive") { http10 = false }
                case "mcp-session-id":
                    head.sessionID = value
                case "content-type":
                    head.contentType = value
                default:
                    break
                }
            }
            lineStart = lineEnd + 2
        }
        if first { throw .malformed }
        if http10 { head.close = true }
        return head
    }

    /// Offset of the first "\r\n\r\n", if any.
    static func headEnd(_ b: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let limit = Swift.min(b.count, maxHeadLength + 4)
        while i + 3 < limit {
            if b[i] == 13, b[i + 1] == 10, b[i + 2] == 13, b[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    private static func lowercased(_ b: UnsafeRawBufferPointer) -> String {
        String(decoding: b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    private static func trimmed(_ b: UnsafeRawBufferPointer) -> String {
        var s = 0, e = b.count
        while s < e, b[s] == 32 || b[s] == 9 { s += 1 }
        while e > s, b[e - 1] == 32 || b[e - 1] == 9 { e -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: b[s..<e]), as: UTF8.self)
    }
}

/// Substring search over raw bytes (first-byte scan, then compare).
public func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
    let n = needle.count
    guard n > 0 else { return true }
    guard haystack.count >= n, let base = haystack.baseAddress else { return false }
    let first = needle[0]
    return needle.withUnsafeBytes { nb -> Bool in
        var p = base
        let last = base + (haystack.count - n)
        while p <= last {
            guard let hit = memchr(p, Int32(first), last - p + 1) else { return false }
            if memcmp(hit, nb.baseAddress!, n) == 0 { return true }
            p = UnsafeRawPointer(hit) + 1
        }
        return false
    }
}
