/// One request to send: method, target (path and query), header fields and body.
public struct HTTPRequest: Sendable {
    public var method: String
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method; self.target = target; self.headers = headers; self.body = body
    }

    /// Can `value` go into a header field as it is (no CR, LF or NUL; printable)?
    public static func isValidHeaderValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }

    /// A token (RFC 9110 `tchar`s), as header names must be.
    public static func isValidHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }
}

/// Renders requests as HTTP/1.1 bytes: request line, `Host`, the caller's fields,
/// `Content-Length` for a body. Fields with bad names or values (CR, LF: header injection)
/// are refused by `render`, not sent.
public enum HTTPRequestWriter {
    public static func render(_ request: HTTPRequest, host: String) throws(HTTPParseError) -> [UInt8] {
        guard request.target.hasPrefix("/"), HTTPRequest.isValidHeaderValue(request.target), !request.target.contains(" ") else {
            // The query is left out: it may hold a token.
            throw HTTPParseError("bad request target '\(request.target.prefix { $0 != "?" }.prefix(80).debugDescription.dropFirst().dropLast())'")
        }
        var out: [UInt8] = []
        out.reserveCapacity(256 + request.body.count)
        out += "\(request.method) \(request.target) HTTP/1.1\r\nHost: \(host)\r\n".utf8
        for (name, value) in request.headers {
            guard HTTPRequest.isValidHeaderName(name), HTTPRequest.isValidHeaderValue(value) else {
                throw HTTPParseError("header '\(name.prefix(40))' has a bad name or value")
            }
            out += name.utf8; out += ": ".utf8; out += value.utf8; out += "\r\n".utf8
        }
        if !request.body.isEmpty || request.method == "POST" {
            out += "Content-Length: \(request.body.count)\r\n".utf8
        }
        out += "\r\n".utf8
        out += request.body
        return out
    }
}
