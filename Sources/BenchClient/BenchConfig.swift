/// What one load run does. Pure value, validated once before any socket opens.
public struct BenchConfig: Sendable {
    /// The MCP era the client speaks.
    public enum Era: String, Sendable, Codable {
        /// 2025-11-25: initialize, notifications/initialized, then calls carrying Mcp-Session-Id.
        case session = "2025-11-25"
        /// 2026-07-28: no handshake; every request carries Mcp-Method, Mcp-Name and `_meta`.
        case stateless = "2026-07-28"
    }

    public enum Mode: String, Sendable, Codable {
        /// Each connection sends its next request when the answer arrives.
        case closed
        /// Requests leave at a fixed total rate; latency counts from the scheduled time.
        case open
        /// Sessions are opened and held; each answers one call at the end.
        case idle
    }

    public var host = "127.0.0.1"
    public var port = 8080
    public var path = "/mcp"
    public var connections = 100
    /// Seconds measured, after the warm-up.
    public var duration = 10.0
    public var warmup = 1.0
    /// Total requests per second (open loop); nil for closed loop.
    public var rate: Double?
    public var tool = "echo"
    /// The `arguments` object, as JSON text.
    public var arguments = #"{"text":"hello"}"#
    public var era: Era = .session
    public var newConnectionPerRequest = false
    /// 2025-11-25 era without the handshake: calls carry MCP-Protocol-Version and no session
    /// (stateless servers such as the SDK anchors, and nginx answering fixed bytes).
    public var skipInitialize = false
    public var sourceAddresses: [String] = []
    public var idle = false
    /// Seconds before an unanswered request counts as a timeout.
    public var timeout = 10.0
    public var threads = 1
    /// Compare the JSON-RPC id of each answer with the request's (off for servers that answer fixed bytes).
    public var checkID = true
    /// Text each answer must contain; nil derives it from the arguments (echo) or checks only the envelope.
    public var expect: String?
    /// Upper bound on requests sent, whatever the duration.
    public var maxRequests = 50_000_000
    /// Free-form name of the server under test, carried into the results.
    public var label = "switchyard"
    /// Server processes (with their descendants) whose CPU time and memory the run reports.
    public var serverPIDs: [Int32] = []
    /// Connections being set up (connect + initialize) at once, per thread.
    public var setupConcurrency = 256
    /// Header lines (without CRLF) added to every request, e.g. `Authorization: Bearer ...`.
    public var extraHeaders: [String] = []

    public var mode: Mode { idle ? .idle : (rate != nil ? .open : .closed) }

    public init() {}

    /// Hard limits: every run is bounded in time and count and stays on this machine's loopback.
    public static let maxDuration = 3600.0
    public static let maxConnections = 100_000

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// Parses `http://HOST:PORT/PATH`; HOST must be a loopback address.
    public mutating func setURL(_ url: String) throws {
        guard url.hasPrefix("http://") else { throw Invalid("only http:// URLs: \(url)") }
        var rest = Substring(url.dropFirst(7))
        var pathPart = "/"
        if let slash = rest.firstIndex(of: "/") { pathPart = String(rest[slash...]); rest = rest[..<slash] }
        var h = String(rest)
        var p = 80
        if h.hasPrefix("[") {
            guard let close = h.firstIndex(of: "]") else { throw Invalid("bad URL \(url)") }
            let after = h[h.index(after: close)...]
            if after.hasPrefix(":") {
                guard let n = Int(after.dropFirst()) else { throw Invalid("bad port in \(url)") }
                p = n
            }
            h = String(h[h.index(after: h.startIndex)..<close])
        } else if let colon = h.lastIndex(of: ":") {
            guard let n = Int(h[h.index(after: colon)...]) else { throw Invalid("bad port in \(url)") }
            p = n
            h = String(h[..<colon])
        }
        if h == "localhost" { h = "127.0.0.1" }
        host = h; port = p; path = pathPart
    }

    public static func isLoopback(_ address: String) -> Bool {
        if address == "::1" { return true }
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { UInt8($0) != nil }
    }

    public func validate() throws {
        guard BenchConfig.isLoopback(host) else {
            throw Invalid("target \(host) is not a loopback address (127.0.0.0/8, ::1)")
        }
        for s in sourceAddresses where !BenchConfig.isLoopback(s) {
            throw Invalid("source address \(s) is not a loopback address")
        }
        guard connections >= 1, connections <= BenchConfig.maxConnections else {
            throw Invalid("connections must be 1...\(BenchConfig.maxConnections)")
        }
        guard duration > 0, duration <= BenchConfig.maxDuration else {
            throw Invalid("duration must be in (0, \(Int(BenchConfig.maxDuration))] s")
        }
        guard warmup >= 0, warmup <= 600 else { throw Invalid("warmup must be 0...600 s") }
        if let r = rate { guard r > 0, r <= 10_000_000 else { throw Invalid("rate must be in (0, 10M] req/s") } }
        guard threads >= 1, threads <= 64, threads <= connections else {
            throw Invalid("threads must be 1...min(64, connections)")
        }
        guard timeout > 0 else { throw Invalid("timeout must be positive") }
        guard maxRequests > 0 else { throw Invalid("max-requests must be positive") }
        guard !(idle && rate != nil) else { throw Invalid("--idle and --rate exclude each other") }
    }
}
