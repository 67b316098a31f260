import Foundation

/// The bytes of every request a client sends, prepared once per run: only the JSON-RPC id
/// and the session header change from one request to the next. Pure: no I/O.
public struct RequestTemplate: Sendable {
    public let config: BenchConfig
    /// `{"jsonrpc":"2.0","id":` — the id follows.
    let callPrefix: [UInt8]
    /// From after the id to the end of the tools/call body.
    let callSuffix: [UInt8]
    /// Text every successful answer must contain; nil: only the envelope is checked.
    public let expected: [UInt8]?
    /// The answer must be at least this long (large echoes are checked by prefix and length).
    public let minimumAnswerBody: Int
    public let argumentBytes: Int

    public static let clientInfo = #"{"name":"switchyard-bench","version":"1"}"#

    public init(_ config: BenchConfig) throws {
        self.config = config
        let argData = Data(config.arguments.utf8)
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: argData, options: [.fragmentsAllowed]) } catch {
            throw BenchConfig.Invalid("--args is not JSON: \(error)")
        }
        guard let object = parsed as? [String: Any] else { throw BenchConfig.Invalid("--args must be a JSON object") }
        argumentBytes = argData.count
        let toolName = RequestTemplate.jsonString(config.tool)
        var suffix = #","method":"tools/call","params":{"name":"# + toolName + #","arguments":"#
        suffix += config.arguments
        if config.era == .stateless {
            suffix += #","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","#
                + #""io.modelcontextprotocol/clientCapabilities":{},"#
                + #""io.modelcontextprotocol/clientInfo":"# + RequestTemplate.clientInfo + "}"
        }
        suffix += "}}"
        callPrefix = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        callSuffix = Array(suffix.utf8)
        if let e = config.expect {
            expected = Array(e.utf8)
            minimumAnswerBody = 0
        } else if config.tool == "echo", let text = object["text"] as? String {
            // The echoed text comes back as a JSON string; a long one is checked by its first
            // 64 characters and by the answer's length, not byte by byte.
            let full = RequestTemplate.jsonString(text)
            let head = full.utf8.count > 66 ? String(full.utf8.prefix(65))! : full
            expected = Array((#""text":"# + head).utf8)
            minimumAnswerBody = full.utf8.count
        } else {
            expected = nil
            minimumAnswerBody = 0
        }
    }

    /// A JSON string literal (quotes included) for plain text.
    static func jsonString(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }

    /// The head up to (not including) Content-Length, for this client's session.
    func headPrefix(sessionID: String?, method: String, closeConnection: Bool) -> [UInt8] {
        var h = "POST \(config.path) HTTP/1.1\r\nHost: \(hostHeader)\r\n"
        h += "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        if let sessionID { h += "Mcp-Session-Id: \(sessionID)\r\n" }
        if method != "initialize" { h += "MCP-Protocol-Version: \(config.era.rawValue)\r\n" }
        if config.era == .stateless {
            h += "Mcp-Method: \(method)\r\n"
            if method == "tools/call" { h += "Mcp-Name: \(config.tool)\r\n" }
        }
        for line in config.extraHeaders { h += line + "\r\n" }
        if closeConnection { h += "Connection: close\r\n" }
        return Array(h.utf8)
    }

    var hostHeader: String {
        config.host.contains(":") ? "[\(config.host)]:\(config.port)" : "\(config.host):\(config.port)"
    }

    /// The tools/call body's length for an id with `digits` digits.
    func callBodyLength(idDigits: Int) -> Int { callPrefix.count + idDigits + callSuffix.count }

    func initializeBody(id: UInt64) -> [UInt8] {
        Array((#"{"jsonrpc":"2.0","id":\#(id),"method":"initialize","params":{"protocolVersion":"2025-11-25","#
            + #""capabilities":{},"clientInfo":"# + RequestTemplate.clientInfo + "}}").utf8)
    }

    static let initializedBody = Array(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8)
}

/// How an answer failed; the keys of "errors by kind".
enum AnswerCheck {
    static let result = Array(#""result""#.utf8)
    static let error = Array(#""error""#.utf8)
    static let isErrorTrue = Array(#""isError":true"#.utf8)
    static let isErrorTrueSpaced = Array(#""isError": true"#.utf8)

    /// nil when the answer is a good tools/call result; otherwise the error kind.
    static func call(status: Int, body: UnsafeRawBufferPointer, id: UInt64?, template: RequestTemplate) -> String? {
        guard status == 200 else { return "http_\(status)" }
        guard contains(body, result) else { return contains(body, error) ? "jsonrpc_error" : "bad_answer" }
        if let id {
            let digits = Array(String(id).utf8)
            if !contains(body, Array(#""id":"#.utf8) + digits), !contains(body, Array(#""id": "#.utf8) + digits) {
                return "id_mismatch"
            }
        }
        if contains(body, isErrorTrue) || contains(body, isErrorTrueSpaced) { return "tool_error" }
        if let e = template.expected, !contains(body, e) { return "unexpected_answer" }
        if body.count < template.minimumAnswerBody { return "unexpected_answer" }
        return nil
    }
}
