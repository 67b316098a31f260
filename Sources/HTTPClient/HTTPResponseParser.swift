/// A response's status line and headers.
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    /// HTTP/1.1 (true) or HTTP/1.0.
    public var isHTTP11: Bool
    /// Header fields in order, names lowercased.
    public var headers: [(name: String, value: String)]

    public init(status: Int, isHTTP11: Bool = true, headers: [(name: String, value: String)] = []) {
        self.status = status; self.isHTTP11 = isHTTP11; self.headers = headers
    }

    /// The first field named `name` (any case), its value trimmed.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    /// The media type of `Content-Type`, lowercased, without parameters ("application/json").
    public var mediaType: String? {
        guard let v = header("content-type") else { return nil }
        let type = v.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return type.trimmingCharacters(in: " \t").lowercased()
    }

    /// May the connection carry another request after this response?
    public var keepsAlive: Bool {
        let connection = header("connection")?.lowercased() ?? ""
        let tokens = connection.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
        return isHTTP11 ? !tokens.contains("close") : tokens.contains("keep-alive")
    }

    public static func == (a: HTTPResponseHead, b: HTTPResponseHead) -> Bool {
        a.status == b.status && a.isHTTP11 == b.isHTTP11 && a.headers.elementsEqual(b.headers) { $0 == $1 }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        let drop: (Character) -> Bool = { set.contains($0) }
        return String(self.drop(while: drop).reversed().drop(while: drop).reversed())
    }
}

/// Why a response could not be read.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// An HTTP/1.1 response decoder: a pure state machine fed the bytes as they arrive, in any
/// pieces. The head is decoded once complete; the body (Content-Length, chunked, or until the
/// connection closes) is handed on as slices of the input, never copied.
/// Thread: whoever owns it.
public struct HTTPResponseParser {
    public enum Event {
        case head(HTTPResponseHead)
        /// Body bytes: valid only during the call.
        case body(UnsafeRawBufferPointer)
        case end
    }

    /// The largest head accepted (status line and fields).
    public static let maxHead = 64 * 1024
    /// The longest chunk-size line (with extensions) or trailer line accepted.
    static let maxLine = 4 * 1024

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    private var state = State.head
    /// A response to a HEAD request has no body (not used by MCP, kept right anyway).
    public var isResponseToHead = false

    public init() {}

    /// Is a response complete (`.end` given)?
    public var isDone: Bool { if case .done = state { return true }; return false }
    /// Has the head been decoded?
    public var hasHead: Bool { if case .head = state { return false }; return true }
    /// Does the body run until the connection closes?
    public var readsUntilClose: Bool { if case .untilClose = state { return true }; return false }

    /// Decodes what it can of `bytes` and returns how many were used; the rest (an incomplete
    /// head or chunk-size line) must be offered again with more behind it. Stops after `.end`.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer,
                               _ emit: (Event) -> Void) throws(HTTPParseError) -> Int {
        var at = 0
        while at < bytes.count || isBodyDoneWithoutBytes {
            switch state {
            case .head:
                guard let end = Self.find(crlfcrlf: bytes, from: at) else {
                    if bytes.count - at > Self.maxHead { throw HTTPParseError("response head over \(Self.maxHead) bytes") }
                    return at
                }
                let head = try Self.decodeHead(UnsafeRawBufferPointer(rebasing: bytes[at..<end]))
                at = end + 4
                if head.status >= 100 && head.status < 200 { continue } // 100 Continue and the like
                emit(.head(head))
                state = try bodyState(head)
            case .fixed(let remaining):
                if remaining == 0 { state = .done; emit(.end); return at }
                let n = min(remaining, bytes.count - at)
                emit(.body(UnsafeRawBufferPointer(rebasing: bytes[at..<at + n])))
                at += n
                state = .fixed(remaining: remaining - n)
                if remaining - n == 0 { state = .done; emit(.end); return at }
            case .chunkSize:
                guard let eol = Self.find(crlf: bytes, from: at) else {
                    if bytes.count - at > Self.maxLine { throw HTTPParseError("chunk-size line too long") }
                    return at
                }
                let size = try Self.chunkSize(UnsafeRawBufferPointer(rebasing: bytes[at..<eol]))
                at = eol + 2
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let n = min(remaining, bytes.count - at)
                emit(.body(UnsafeRawBufferPointer(rebasing: bytes[at..<at + n])))
                at += n
                state = remaining - n == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                guard bytes.count - at >= 2 else { return at }
                guard bytes[at] == 0x0D, bytes[at + 1] == 0x0A else { throw HTTPParseError("chunk not followed by CRLF") }
                at += 2
                state = .chunkSize
            case .trailers:
                guard let eol = Self.find(crlf: bytes, from: at) else {
                    if bytes.count - at > Self.maxLine { throw HTTPParseError("trailer line too long") }
                    return at
                }
                let empty = eol == at
                at = eol + 2
                if empty { state = .done; emit(.end); return at }
            case .untilClose:
                emit(.body(UnsafeRawBufferPointer(rebasing: bytes[at...])))
                return bytes.count
            case .done:
                return at
            }
        }
        return at
    }

    /// A body of known length 0 ends without more bytes.
    private var isBodyDoneWithoutBytes: Bool { if case .fixed(0) = state { return true }; return false }

    /// The connection closed: a body read until close ends here; anything else was cut short.
    public mutating func finish(_ emit: (Event) -> Void) throws(HTTPParseError) {
        switch state {
        case .untilClose: state = .done; emit(.end)
        case .done: break
        case .head: throw HTTPParseError("connection closed before a complete response head")
        default: throw HTTPParseError("connection closed in the middle of the response body")
        }
    }

    private func bodyState(_ head: HTTPResponseHead) throws(HTTPParseError) -> State {
        if isResponseToHead || head.status == 204 || head.status == 304 { return .fixed(remaining: 0) }
        if let te = head.header("transfer-encoding") {
            guard te.lowercased().split(separator: ",").last?.trimmingCharacters(in: " \t") == "chunked" else {
                throw HTTPParseError("unsupported Transfer-Encoding '\(quotedText(te))'")
            }
            return .chunkSize
        }
        let lengths = head.headers.filter { $0.name == "content-length" }.map(\.value)
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), let n = Int(first), n >= 0 else {
                throw HTTPParseError("bad Content-Length '\(quotedText(first))'")
            }
            return .fixed(remaining: n)
        }
        return .untilClose
    }

    static func decodeHead(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPResponseHead {
        var lines: [Substring] = []
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) { lines.append(Substring(line)) }
        guard let status = lines.first else { throw HTTPParseError("empty response head") }
        // "HTTP/1.1 200 OK": the reason phrase is optional and ignored.
        let parts = status.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0",
              parts[1].count == 3, let code = Int(parts[1]), (100...599).contains(code) else {
            throw HTTPParseError("not an HTTP/1.x status line: '\(quotedText(status))'")
        }
        var head = HTTPResponseHead(status: code, isHTTP11: parts[0] == "HTTP/1.1")
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else {
                throw HTTPParseError("header line without a colon: '\(quotedText(line))'")
            }
            let name = line[..<colon]
            guard !name.isEmpty, !name.contains(" "), !name.contains("\t") else {
                throw HTTPParseError("bad header name '\(quotedText(name))'")
            }
            head.headers.append((name.lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: " \t")))
        }
        return head
    }

    static func chunkSize(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        for b in line {
            let v: Int
            switch b {
            case 0x30...0x39: v = Int(b) - 0x30
            case 0x41...0x46: v = Int(b) - 0x41 + 10
            case 0x61...0x66: v = Int(b) - 0x61 + 10
            case 0x3B, 0x20, 0x09: // extensions (";name=value") and whitespace end the size
                guard digits > 0 else { throw HTTPParseError("chunk-size line without a size") }
                return size
            default: throw HTTPParseError("bad chunk-size line")
            }
            digits += 1
            guard digits <= 15 else { throw HTTPParseError("chunk size too large") }
            size = size * 16 + v
        }
        guard digits > 0 else { throw HTTPParseError("chunk-size line without a size") }
        return size
    }

    static func find(crlf bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i + 1 < bytes.count {
            if bytes[i] == 0x0D && bytes[i + 1] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    static func find(crlfcrlf bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i + 3 < bytes.count {
            if bytes[i] == 0x0D && bytes[i + 1] == 0x0A && bytes[i + 2] == 0x0D && bytes[i + 3] == 0x0A { return i }
            i += 1
        }
        return nil
    }
}
