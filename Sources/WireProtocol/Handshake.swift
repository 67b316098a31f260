import MCPCore

/// An executor's catalog: what it serves, as raw MCP JSON objects so the front can pass them
/// to clients byte for byte. Sent inside READY, and alone in a CATALOG frame when it changes
/// (proto/executor-protocol.md, "READY" and "CATALOG").
public struct Catalog: Sendable, Equatable {
    /// One catalog entry: its key (tool or prompt name, resource URI, URI template) and its
    /// compact JSON object.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var json: [UInt8]
        public init(key: String, json: [UInt8]) { self.key = key; self.json = json }
    }

    public var tools: [Entry]
    public var resources: [Entry]
    public var resourceTemplates: [Entry]
    public var prompts: [Entry]
    /// The executor answers `completion/complete` (CALL kind 4).
    public var completions: Bool
    /// The executor reports `notifications/resources/updated` for its resources.
    public var subscriptions: Bool

    public init(tools: [Entry] = [], resources: [Entry] = [], resourceTemplates: [Entry] = [], prompts: [Entry] = [],
                completions: Bool = false, subscriptions: Bool = false) {
        self.tools = tools; self.resources = resources; self.resourceTemplates = resourceTemplates
        self.prompts = prompts; self.completions = completions; self.subscriptions = subscriptions
    }

    /// The catalog members, without braces: `"tools":[...],...,"subscriptions":false`.
    func members() -> [UInt8] {
        var out: [UInt8] = []
        func list(_ name: String, _ entries: [Entry]) {
            out += Array("\"\(name)\":[".utf8)
            for (i, e) in entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += e.json
            }
            out += Array("],".utf8)
        }
        list("tools", tools)
        list("resources", resources)
        list("resourceTemplates", resourceTemplates)
        list("prompts", prompts)
        out += Array("\"completions\":\(completions),\"subscriptions\":\(subscriptions)".utf8)
        return out
    }

    /// The CATALOG frame payload.
    public func encoded() -> [UInt8] { [UInt8(ascii: "{")] + members() + [UInt8(ascii: "}")] }

    /// Decodes a CATALOG payload.
    public static func decode(_ bytes: [UInt8]) throws -> Catalog {
        let value = try JSONValue.parse(bytes)
        guard case .object(let o) = value else { throw Ready.DecodeError.invalid("CATALOG is not an object") }
        return try Catalog(object: o)
    }

    /// Reads the catalog members of a READY or CATALOG object; absent lists are empty.
    init(object o: [String: JSONValue]) throws {
        func entries(_ member: String, key: String) throws -> [Entry] {
            guard let v = o[member] else { return [] }
            guard case .array(let list) = v else { throw Ready.DecodeError.invalid("\(member) is not an array") }
            return try list.map { e in
                guard case .string(let k)? = e[key] else {
                    throw Ready.DecodeError.invalid("\(member) entry without \(key)")
                }
                return Entry(key: k, json: Array(e.compactJSON().utf8))
            }
        }
        func flag(_ k: String) -> Bool { if case .bool(true)? = o[k] { return true } else { return false } }
        self.init(tools: try entries("tools", key: "name"), resources: try entries("resources", key: "uri"),
                  resourceTemplates: try entries("resourceTemplates", key: "uriTemplate"),
                  prompts: try entries("prompts", key: "name"),
                  completions: flag("completions"), subscriptions: flag("subscriptions"))
    }
}

/// The READY payload: the executor's chosen version, limits and catalog. Catalog entries are
/// kept as raw JSON objects (MCP Tool objects) so the front can serve them byte for byte.
public struct Ready: Sendable {
    public var version: Int
    public var executor: String
    public var pid: Int
    public var maxFrame: Int
    public var zstd: Bool
    public var maxConcurrency: Int
    /// Tools, resources, resource templates, prompts and flags.
    public var catalog: Catalog

    /// Tool names in catalog order, and each tool's JSON object as bytes.
    public var tools: [(name: String, json: [UInt8])] {
        get { catalog.tools.map { ($0.key, $0.json) } }
        set { catalog.tools = newValue.map { Catalog.Entry(key: $0.name, json: $0.json) } }
    }

    public init(version: Int = 1, executor: String, pid: Int, maxFrame: Int = FrameHeader.maxPayload,
                zstd: Bool, maxConcurrency: Int, tools: [(name: String, json: [UInt8])]) {
        self.init(version: version, executor: executor, pid: pid, maxFrame: maxFrame, zstd: zstd,
                  maxConcurrency: maxConcurrency,
                  catalog: Catalog(tools: tools.map { Catalog.Entry(key: $0.name, json: $0.json) }))
    }

    public init(version: Int = 1, executor: String, pid: Int, maxFrame: Int = FrameHeader.maxPayload,
                zstd: Bool, maxConcurrency: Int, catalog: Catalog) {
        self.version = version; self.executor = executor; self.pid = pid; self.maxFrame = maxFrame
        self.zstd = zstd; self.maxConcurrency = maxConcurrency; self.catalog = catalog
    }

    /// Encodes as compact JSON with the catalog objects spliced in unchanged.
    public func encoded() -> [UInt8] {
        var s = "{\"version\":\(version),\"executor\":\(JSONValue.quote(executor)),\"pid\":\(pid),"
        s += "\"maxFrame\":\(maxFrame),\"zstd\":\(zstd),\"maxConcurrency\":\(maxConcurrency),"
        return Array(s.utf8) + catalog.members() + [UInt8(ascii: "}")]
    }

    public enum DecodeError: Error { case invalid(String) }

    /// Decodes a READY payload; each catalog object is re-serialized compactly.
    public static func decode(_ bytes: [UInt8]) throws -> Ready {
        let value = try JSONValue.parse(bytes)
        guard case .object(let o) = value else { throw DecodeError.invalid("READY is not an object") }
        guard case .number(let v)? = o["version"] else { throw DecodeError.invalid("version") }
        guard case .string(let name)? = o["executor"] else { throw DecodeError.invalid("executor") }
        let catalog = try Catalog(object: o)
        func int(_ k: String, _ d: Int) -> Int { if case .number(let n)? = o[k] { return Int(n) } else { return d } }
        var zstd = false // absent means the executor cannot decompress
        if case .bool(let z)? = o["zstd"] { zstd = z }
        return Ready(version: Int(v), executor: name, pid: int("pid", 0),
                     maxFrame: int("maxFrame", FrameHeader.maxPayload),
                     zstd: zstd, maxConcurrency: max(1, int("maxConcurrency", 64)), catalog: catalog)
    }
}
