/// The server's side of a connection as its peer reads it: HTTP/1.1 answers framed by
/// Content-Length or chunked encoding (an open chunked stream may end the bytes), interim 1xx
/// answers without a body. Strict: anything else is a framing error, which the fuzz targets
/// report as a failure (the server must never write an answer a client cannot split off).
public struct HTTPAnswer {
    public var status: Int
    /// Header names lowercased.
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// False for a chunked body whose last chunk has not arrived (an open stream).
    public var complete: Bool

    public func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
    public var closes: Bool { header("connection")?.lowercased() == "close" }
    public var isInterim: Bool { status >= 100 && status < 200 }
}

public enum HTTPAnswerError: Error, CustomStringConvertible {
    case framing(String, at: Int)
    public var description: String {
        switch self { case .framing(let why, let at): return "\(why) at byte \(at)" }
    }
}

public enum HTTPAnswers {
    /// Splits `bytes` into answers; throws where they cannot be split.
    public static func parse(_ bytes: [UInt8]) throws(HTTPAnswerError) -> [HTTPAnswer] {
        var out: [HTTPAnswer] = []
        var i = 0
        func line(from: Int) -> (String, Int)? {
            var k = from
            while k + 1 < bytes.count {
                if bytes[k] == 13 && bytes[k + 1] == 10 {
                    return (String(decoding: bytes[from..<k], as: UTF8.self), k + 2)
                }
                k += 1
            }
            return nil
        }
        while i < bytes.count {
            let start = i
            guard let (statusLine, afterStatus) = line(from: i) else {
                throw .framing("an incomplete status line", at: i)
            }
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0] == "HTTP/1.1", parts[1].count == 3, let status = Int(parts[1]),
                  status >= 100 && status < 600 else {
                throw .framing("not a status line: \(statusLine.debugDescription)", at: start)
            }
            i = afterStatus
            var headers: [(String, String)] = []
            while true {
                guard let (h, next) = line(from: i) else { throw .framing("an incomplete head", at: start) }
                i = next
                if h.isEmpty { break }
                guard let colon = h.firstIndex(of: ":") else { throw .framing("a header without a colon", at: start) }
                headers.append((h[..<colon].lowercased(), String(h[h.index(after: colon)...]).trimmed))
            }
            var answer = HTTPAnswer(status: status, headers: headers, body: [], complete: true)
            let lengths = headers.filter { $0.0 == "content-length" }
            let chunked = answer.header("transfer-encoding")?.lowercased() == "chunked"
            if answer.isInterim || status == 204 || status == 304 {
                guard lengths.isEmpty && !chunked else { throw .framing("a body on a \(status)", at: start) }
            } else if chunked {
                guard lengths.isEmpty else { throw .framing("both Content-Length and chunked", at: start) }
                answer.complete = false
                while let (sizeLine, afterSize) = line(from: i) {
                    guard !sizeLine.isEmpty, sizeLine.count <= 8, let size = Int(sizeLine, radix: 16), size >= 0 else {
                        throw .framing("not a chunk size: \(sizeLine.prefix(40).debugDescription)", at: i)
                    }
                    guard afterSize + size + 2 <= bytes.count else {
                        i = bytes.count
                        break
                    }
                    guard bytes[afterSize + size] == 13, bytes[afterSize + size + 1] == 10 else {
                        throw .framing("a chunk not followed by CRLF", at: afterSize + size)
                    }
                    answer.body += bytes[afterSize..<afterSize + size]
                    i = afterSize + size + 2
                    if size == 0 {
                        answer.complete = true
                        break
                    }
                }
                if !answer.complete {
                    // An open stream: nothing may follow it but more of it.
                    out.append(answer)
                    return out
                }
            } else {
                guard lengths.count == 1, let n = Int(lengths[0].1), n >= 0 else {
                    throw .framing("no single Content-Length on a \(status)", at: start)
                }
                guard i + n <= bytes.count else { throw .framing("a body shorter than its Content-Length", at: start) }
                answer.body = Array(bytes[i..<i + n])
                i += n
            }
            out.append(answer)
        }
        return out
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
