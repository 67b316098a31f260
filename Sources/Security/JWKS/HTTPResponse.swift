/// An HTTP/1.1 response read until the server closed the connection: status line, header
/// fields, then a body delimited by chunked coding, `Content-Length`, or the close. Pure.
struct HTTPResponse: Equatable {
    let status: Int
    let body: [UInt8]

    struct Malformed: Error, Equatable {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func parse(_ bytes: [UInt8]) throws(Malformed) -> HTTPResponse {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { throw Malformed("no end of header") }
        let lines = split(Array(bytes[..<headEnd]))
        guard let statusLine = lines.first else { throw Malformed("empty head") }
        // "HTTP/1.x SP 3DIGIT SP reason"
        let parts = statusLine.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].starts(with: Array("HTTP/1.".utf8)), parts[1].count == 3,
              let status = Int(String(decoding: parts[1], as: UTF8.self)) else { throw Malformed("bad status line") }
        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw Malformed("bad header field") }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces().lowercased()
            switch name {
            case "content-length":
                guard let n = Int(value), n >= 0, contentLength == nil || contentLength == n else {
                    throw Malformed("bad content-length")
                }
                contentLength = n
            case "transfer-encoding":
                let codings = value.split(separator: ",").map { String($0).trimmingSpaces() }
                guard codings.last == "chunked" else { throw Malformed("unsupported transfer-encoding") }
                chunked = true
            default: break
            }
        }
        let rest = Array(bytes[(headEnd + 4)...])
        if chunked { return HTTPResponse(status: status, body: try dechunk(rest)) }
        if let contentLength {
            guard rest.count >= contentLength else { throw Malformed("body shorter than content-length") }
            return HTTPResponse(status: status, body: Array(rest[..<contentLength]))
        }
        return HTTPResponse(status: status, body: rest)
    }

    /// Chunked transfer coding (RFC 9112 §7.1): hex size, optional extensions, data, CRLF;
    /// a zero size ends it (trailers ignored).
    static func dechunk(_ bytes: [UInt8]) throws(Malformed) -> [UInt8] {
        var body: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: i) else { throw Malformed("truncated chunk size") }
            var sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self)
            if let semicolon = sizeText.firstIndex(of: ";") { sizeText = String(sizeText[..<semicolon]) }
            guard let size = Int(sizeText.trimmingSpaces(), radix: 16), size >= 0 else { throw Malformed("bad chunk size") }
            i = lineEnd + 2
            if size == 0 { return body }
            guard size <= bytes.count - i - 2, bytes[i + size] == 13, bytes[i + size + 1] == 10 else {
                throw Malformed("truncated chunk")
            }
            body += bytes[i..<(i + size)]
            i += size + 2
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for i in start...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }

    static func split(_ head: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        while let end = find([13, 10], in: head, from: start) {
            lines.append(head[start..<end])
            start = end + 2
        }
        lines.append(head[start...])
        return lines
    }
}

extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
