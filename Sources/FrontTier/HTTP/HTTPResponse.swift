import MCPCore

/// Response heads, written once per answer. Every answer carries Content-Length, so a
/// keep-alive client always knows where it ends.
enum HTTPResponse {
    static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status"
        }
    }

    /// `head(...)` appended to `out` as bytes, with no intermediate String.
    static func appendHead(to out: inout [UInt8], status: Int, contentType: String?, contentLength: Int,
                           keepAlive: Bool, extra: [(String, String)] = []) {
        if status == 200 && contentType == "application/json" {
            // Nearly every answer: one copy of the fixed lines.
            out.append(literal: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
        } else {
            if status == 200 {
                out.append(literal: "HTTP/1.1 200 OK\r\n")
            } else {
                out += "HTTP/1.1 \(status) \(reason(status))\r\n".utf8
            }
            if let contentType {
                out.append(literal: "Content-Type: ")
                out.append(utf8: contentType)
                out.append(literal: "\r\n")
            }
            out.append(literal: "Content-Length: ")
        }
        appendDecimal(contentLength, to: &out)
        out.append(literal: "\r\n")
        for (k, v) in extra { out += "\(k): \(v)\r\n".utf8 }
        if !keepAlive { out.append(literal: "Connection: close\r\n") }
        out.append(literal: "\r\n")
    }

    static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        guard n > 0 else { out.append(UInt8(ascii: "0")); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = n, k = 20
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { k -= 1; d[k] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
            out += UnsafeRawBufferPointer(rebasing: d[k...])
        }
    }

    /// The status line and headers, ending with the blank line.
    static func head(status: Int, contentType: String?, contentLength: Int, keepAlive: Bool,
                     extra: [(String, String)] = []) -> String {
        var out: [UInt8] = []
        appendHead(to: &out, status: status, contentType: contentType, contentLength: contentLength,
                   keepAlive: keepAlive, extra: extra)
        return String(decoding: out, as: UTF8.self)
    }
}

extension HTTPResponse {
    /// The head of an SSE answer streamed in HTTP chunks (its length is not known up front).
    static func streamHead(keepAlive: Bool, extra: [(String, String)] = []) -> String {
        var s = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            + "X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n"
        for (k, v) in extra { s += "\(k): \(v)\r\n" }
        if !keepAlive { s += "Connection: close\r\n" }
        return s + "\r\n"
    }
}

/// How a request's answer is framed.
enum AnswerFormat {
    case json
    /// One SSE `message` event carrying the JSON-RPC message.
    case sse
}
