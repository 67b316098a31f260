/// The per-request checks of the stateless revision (2026-07-28), in the order the
/// specification and the conformance suite expect: `_meta` shape (-32602), then headers
/// against the body (-32020), then version support (-32022), then the routing headers.
public enum ModernRequest {
    public static let versionKey = versionKeyBytes.description
    public static let capabilitiesKey = capabilitiesKeyBytes.description
    public static let clientInfoKey = "io.modelcontextprotocol/clientInfo"
    public static let logLevelKey = logLevelKeyBytes.description
    /// The same keys for matching raw JSON keys (`knownMeta`) without a String.
    private static let versionKeyBytes: StaticString = "io.modelcontextprotocol/protocolVersion"
    private static let capabilitiesKeyBytes: StaticString = "io.modelcontextprotocol/clientCapabilities"
    private static let logLevelKeyBytes: StaticString = "io.modelcontextprotocol/logLevel"

    /// Revisions served statelessly.
    public static let versions = ["2026-07-28"]
    /// Everything the server speaks, newest first (server/discover, -32022 data).
    public static let allVersions = versions + ProtocolVersion.supported

    /// Methods of the handshake era that the stateless revision removed: 404 + -32601 there.
    public static let removedMethods: Set<String> = ["initialize", "ping", "logging/setLevel", "resources/subscribe",
                                                     "resources/unsubscribe", "notifications/initialized"]

    /// Is this request for the stateless revision? Decided by the version it declares: the
    /// `MCP-Protocol-Version` header, or without it the `_meta` protocol version. A declared
    /// version that is not a handshake-era one means the stateless revision, whose transport
    /// ignores `Mcp-Session-Id`; nothing declared means the handshake era.
    public static func isStateless(versionHeader: String?, metaVersion: String?) -> Bool {
        guard let v = versionHeader ?? metaVersion else { return false }
        return !ProtocolVersion.supported.contains(v) && v != "2024-11-05"
    }

    /// The members of a request's `_meta` that `validate` reads, each as decoded (nil: absent).
    public struct Meta: Equatable, Sendable {
        public var protocolVersion: JSONValue?
        public var clientCapabilities: JSONValue?
        public var logLevel: JSONValue?

        public init(protocolVersion: JSONValue? = nil, clientCapabilities: JSONValue? = nil,
                    logLevel: JSONValue? = nil) {
            self.protocolVersion = protocolVersion
            self.clientCapabilities = clientCapabilities
            self.logLevel = logLevel
        }

        /// From a decoded `_meta` object; nil when it is not an object.
        public init?(_ meta: JSONValue?) {
            guard case .object(let m)? = meta else { return nil }
            self.init(protocolVersion: m[versionKey], clientCapabilities: m[capabilitiesKey], logLevel: m[logLevelKey])
        }
    }

    /// `Meta` straight from a request's `_meta` bytes, each member decoded alone; nil unless
    /// the bytes are a JSON object. Decoding the whole `_meta` (clientInfo and the rest) into
    /// dictionaries was a fifth of a stateless request's cost at the front.
    public static func knownMeta(_ bytes: UnsafeRawBufferPointer) -> Meta? {
        var m = Meta()
        var seen = 0 // one bit per member: the first of duplicates wins
        do {
            try JSONValue.forEachMemberKeyBytes(bytes) { key, range in
                let bit = key.bytesEqual(versionKeyBytes) ? 1 : key.bytesEqual(capabilitiesKeyBytes) ? 2
                    : key.bytesEqual(logLevelKeyBytes) ? 4 : 0
                guard bit != 0, seen & bit == 0 else { return }
                seen |= bit
                let v = try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[range]))
                switch bit {
                case 1: m.protocolVersion = v
                case 2: m.clientCapabilities = v
                default: m.logLevel = v
                }
            }
        } catch {
            return nil
        }
        return m
    }

    /// What a valid stateless request carries.
    public struct Context: Sendable {
        public var protocolVersion: String
        public var clientCapabilities: JSONValue
        public var logLevel: String?
    }

    /// Checks one request. `method` is the body's method; `name` its params.name or params.uri
    /// for the methods that need `Mcp-Name`; header values as received (nil = absent).
    /// `hasHeaderLayer: false` (stdio): the body is all there is, and the header checks are skipped.
    public static func validate(meta: Meta?, versionHeader: String?, methodHeader: String?, nameHeader: String?,
                                method: String, name: String?,
                                hasHeaderLayer: Bool = true) throws(ProtocolError) -> Context {
        guard let m = meta else {
            throw ProtocolError(.invalidParams, "Invalid params: params._meta is required", httpStatus: 400)
        }
        guard case .string(let version)? = m.protocolVersion else {
            throw ProtocolError(.invalidParams, "Invalid params: _meta.\(versionKey) is required", httpStatus: 400)
        }
        guard let caps = m.clientCapabilities, case .object = caps else {
            throw ProtocolError(.invalidParams, "Invalid params: _meta.\(capabilitiesKey) is required", httpStatus: 400)
        }
        guard let header = hasHeaderLayer ? versionHeader : version else {
            throw ProtocolError(.headerMismatch, "Bad Request: MCP-Protocol-Version header is required",
                                httpStatus: 400)
        }
        guard header == version else {
            throw ProtocolError(.headerMismatch, "Bad Request: MCP-Protocol-Version header (\(header)) "
                                    + "does not match _meta (\(version))", httpStatus: 400)
        }
        guard versions.contains(version) else {
            let supported = allVersions.map { JSONValue.quote($0) }.joined(separator: ",")
            throw ProtocolError(.unsupportedProtocolVersion, "Unsupported protocol version: \(version)",
                                httpStatus: 400,
                                dataJSON: "{\"supported\":[\(supported)],\"requested\":\(JSONValue.quote(version))}")
        }
        guard hasHeaderLayer else {
            return Context(protocolVersion: version, clientCapabilities: caps, logLevel: m.logLevel?.stringValue)
        }
        guard let mh = methodHeader else {
            throw ProtocolError(.headerMismatch, "Bad Request: Mcp-Method header is required", httpStatus: 400)
        }
        guard mh == method else {
            throw ProtocolError(.headerMismatch,
                                "Bad Request: Mcp-Method header (\(mh)) does not match the body (\(method))",
                                httpStatus: 400)
        }
        if needsName(method) {
            guard let nh = nameHeader else {
                throw ProtocolError(.headerMismatch, "Bad Request: Mcp-Name header is required for \(method)",
                                    httpStatus: 400)
            }
            guard let decoded = decodeHeaderValue(nh) else {
                throw ProtocolError(.headerMismatch, "Bad Request: Mcp-Name header is not valid base64",
                                    httpStatus: 400)
            }
            guard decoded == name else {
                throw ProtocolError(.headerMismatch, "Bad Request: Mcp-Name header does not match the body",
                                    httpStatus: 400)
            }
        }
        return Context(protocolVersion: version, clientCapabilities: caps, logLevel: m.logLevel?.stringValue)
    }

    public static func needsName(_ method: String) -> Bool {
        method == "tools/call" || method == "resources/read" || method == "prompts/get"
    }

    /// A header value with optional whitespace trimmed, and the `=?base64?...?=` form decoded.
    /// Works on the UTF-8 bytes: trimming by Characters cost more than the rest of the request.
    public static func decodeHeaderValue(_ raw: String) -> String? {
        let u = raw.utf8
        var start = u.startIndex, end = u.endIndex
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        while start < end, isSpace(u[start]) { start = u.index(after: start) }
        while start < end, isSpace(u[u.index(before: end)]) { end = u.index(before: end) }
        let prefix = "=?base64?".utf8, suffix = "?=".utf8
        let v = u[start..<end]
        guard v.count >= prefix.count + suffix.count, v.starts(with: prefix),
              v.suffix(suffix.count).elementsEqual(suffix) else {
            return start == u.startIndex && end == u.endIndex ? raw : String(raw[start..<end])
        }
        let inner = raw[u.index(start, offsetBy: prefix.count)..<u.index(end, offsetBy: -suffix.count)]
        guard let bytes = Base64.decode(String(inner)) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
