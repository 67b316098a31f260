import EventLoop
import MCPCore

/// Newline-delimited JSON-RPC on a child's stdout (MCP stdio transport): each complete line is
/// one message. Lines longer than `maxLine` are a protocol violation.
/// Thread: the loop thread.
enum JSONRPCLines {
    /// The largest message a copy may write (a tool result with a large image fits).
    static let maxLine = 64 << 20

    enum Message {
        /// A request from the server (it has `method` and `id`).
        case request(id: JSONValue, method: String, params: JSONValue?)
        case notification(method: String, params: JSONValue?)
        /// An answer to one of ours: `result`, or `error` as (code, message, data).
        case response(id: Int, outcome: Outcome)
        /// A line that is not a JSON-RPC message (its first bytes, for the log).
        case garbage(String)
        /// A response whose id is none of ours.
        case strayResponse
    }

    enum Outcome: Sendable {
        case result(JSONValue)
        case error(code: Int, message: String, data: JSONValue?)
    }

    /// Calls `body` for each complete line in `stream`'s buffer and consumes them; returns false
    /// when a line is too long (the caller ends the copy).
    static func forEachMessage(_ stream: StreamConnection, _ body: (Message) -> Void) -> Bool {
        var consumed = 0
        defer { if consumed > 0 { stream.consume(consumed) } }
        while true {
            let bytes = stream.readable
            let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
            guard let nl = rest.firstIndex(of: 0x0A) else {
                if rest.count > maxLine { return false }
                if consumed > 0 { stream.consume(consumed); consumed = 0 }
                // Room for a longer line in one piece: the buffer doubles as the line grows.
                if rest.count >= stream.readSize / 2 { _ = stream.reserve(min(maxLine + 1, rest.count * 2)) }
                return true
            }
            var line = UnsafeRawBufferPointer(rebasing: rest[..<nl])
            if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
            consumed += nl + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            body(decode(line))
            if stream.isClosed { return true }
        }
    }

    static func decode(_ line: UnsafeRawBufferPointer) -> Message {
        guard let v = try? JSONValue.parse(line), case .object(let o) = v, o["jsonrpc"]?.stringValue == "2.0" else {
            return .garbage(String(decoding: line.prefix(120), as: UTF8.self))
        }
        if case .string(let method)? = o["method"] {
            if let id = o["id"], id != .null { return .request(id: id, method: method, params: o["params"]) }
            return .notification(method: method, params: o["params"])
        }
        guard case .number(let n)? = o["id"], n == n.rounded(), abs(n) < 1e15 else { return .strayResponse }
        if let result = o["result"] { return .response(id: Int(n), outcome: .result(result)) }
        if case .object(let e)? = o["error"] {
            let code = e["code"]?.intValue ?? -32603
            return .response(id: Int(n), outcome: .error(code: code, message: e["message"]?.stringValue ?? "error",
                                                         data: e["data"]))
        }
        return .garbage(String(decoding: line.prefix(120), as: UTF8.self))
    }

    /// One message as a line.
    static func line(_ message: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        message.write(into: &out)
        out.append(0x0A)
        return out
    }

    static func request(id: Int, method: String, params: JSONValue?) -> [UInt8] {
        var o: [String: JSONValue] = ["jsonrpc": .string("2.0"), "id": .number(Double(id)), "method": .string(method)]
        if let params { o["params"] = params }
        return line(.object(o))
    }

    static func notification(method: String, params: JSONValue?) -> [UInt8] {
        var o: [String: JSONValue] = ["jsonrpc": .string("2.0"), "method": .string(method)]
        if let params { o["params"] = params }
        return line(.object(o))
    }

    static func response(id: JSONValue, outcome: Outcome) -> [UInt8] {
        var o: [String: JSONValue] = ["jsonrpc": .string("2.0"), "id": id]
        switch outcome {
        case .result(let r): o["result"] = r
        case .error(let code, let message, let data):
            var e: [String: JSONValue] = ["code": .number(Double(code)), "message": .string(message)]
            if let data { e["data"] = data }
            o["error"] = .object(e)
        }
        return line(.object(o))
    }
}
