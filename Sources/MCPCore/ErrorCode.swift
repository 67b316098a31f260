/// JSON-RPC and MCP error codes, and how each maps to an HTTP status on the Streamable HTTP
/// transport. One table, so every layer answers the same way.
public enum ErrorCode: Int, Sendable {
    case parseError = -32700
    case invalidRequest = -32600
    case methodNotFound = -32601
    case invalidParams = -32602
    case internalError = -32603
    /// MCP: the request was cancelled.
    case requestCancelled = -32800
    /// Switchyard: no executor can take the call right now.
    case overloaded = -32000
    /// The Mcp-Session-Id names no live session (as the official SDKs answer it, with HTTP 404).
    case sessionNotFound = -32001
    /// Switchyard: the server is shutting down.
    case shuttingDown = -32002
    /// Switchyard: the tool call ran past its timeout and was cancelled.
    case requestTimeout = -32003
    /// 2026-07-28: a required header is missing or disagrees with the body.
    case headerMismatch = -32020
    /// 2026-07-28: the request needs a client capability the client did not declare.
    case missingClientCapability = -32021
    /// 2026-07-28: the request's protocol version is not served here.
    case unsupportedProtocolVersion = -32022
}

/// An error answer: the JSON-RPC error plus the HTTP status that carries it.
public struct ProtocolError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String
    public var httpStatus: Int
    /// Extra `data` member, as JSON text.
    public var dataJSON: String?

    public init(_ code: ErrorCode, _ message: String, httpStatus: Int? = nil, dataJSON: String? = nil) {
        self.code = code
        self.message = message
        self.dataJSON = dataJSON
        self.httpStatus = httpStatus ?? ProtocolError.defaultStatus(code)
    }

    /// 2025-11-25 answers JSON-RPC errors of a well-formed request with 200; a body that is not
    /// a JSON-RPC request at all is a 400 (as the SDKs answer it).
    static func defaultStatus(_ code: ErrorCode) -> Int {
        switch code {
        case .parseError, .invalidRequest: return 400
        case .overloaded, .shuttingDown: return 503
        case .sessionNotFound: return 404
        default: return 200
        }
    }

    /// The HTTP status of an executor's error answer in the stateless revision (2026-07-28), from
    /// its scanned `code`: a missing client capability is a 400 there; other errors go out as
    /// JSON-RPC errors with 200.
    public static func statelessStatus(ofExecutorError code: Int?) -> Int {
        code == ErrorCode.missingClientCapability.rawValue ? 400 : 200
    }

    /// The JSON-RPC `error` object.
    public var errorObjectJSON: String {
        var s = "{\"code\":\(code.rawValue),\"message\":\(JSONValue.quote(message))"
        if let d = dataJSON { s += ",\"data\":\(d)" }
        return s + "}"
    }

    /// A whole JSON-RPC error response; `idJSON` is the request's id as sent, or nil for `null`.
    public func responseJSON(idJSON: String?) -> String {
        "{\"jsonrpc\":\"2.0\",\"id\":\(idJSON ?? "null"),\"error\":\(errorObjectJSON)}"
    }
}
