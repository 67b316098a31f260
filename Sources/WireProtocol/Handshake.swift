import FoundationEssentials
import MCPCore

/// The HELLO payload a front sends first on a link.
public struct Hello: Codable, Sendable, Equatable {
    public var versions: [Int]
    public var peer: String
    public var maxFrame: Int?
    public var zstd: Bool?

    public init(versions: [Int] = [1], peer: String, maxFrame: Int = FrameHeader.maxPayload, zstd: Bool = true) {
        self.versions = versions; self.peer = peer; self.maxFrame = maxFrame; self.zstd = zstd
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
    /// Tool names in catalog order, and each tool's JSON object as bytes.
    public var tools: [(name: String, json: [UInt8])]

    public init(version: Int = 1, executor: String, pid: Int, maxFrame: Int = FrameHeader.maxPayload,
                zstd: Bool, maxConcurrency: Int, tools: [(name: String, json: [UInt8])]) {
        self.version = version; self.executor = executor; self.pid = pid; self.maxFrame = maxFrame
        self.zstd = zstd; self.maxConcurrency = maxConcurrency; self.tools = tools
    }

    /// Encodes as compact JSON with the tool objects spliced in unchanged.
    public func encoded() -> [UInt8] {
        var s = "{\"version\":\(version),\"executor\":\(JSONValue.quote(executor)),\"pid\":\(pid),"
        s += "\"maxFrame\":\(maxFrame),\"zstd\":\(zstd),\"maxConcurrency\":\(maxConcurrency),\"tools\":["
        var out = Array(s.utf8)
        for (i, t) in tools.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += t.json
        }
        out += Array("],\"resources\":[],\"prompts\":[]}".utf8)
        return out
    }

    public enum DecodeError: Error { case invalid(String) }

    /// Decodes a READY payload; each tool object is re-serialized compactly.
    public static func decode(_ bytes: [UInt8]) throws -> Ready {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        guard case .object(let o) = value else { throw DecodeError.invalid("READY is not an object") }
        guard case .number(let v)? = o["version"] else { throw DecodeError.invalid("version") }
        guard case .string(let name)? = o["executor"] else { throw DecodeError.invalid("executor") }
        var tools: [(String, [UInt8])] = []
        if case .array(let list)? = o["tools"] {
            for t in list {
                guard case .object(let to) = t, case .string(let tn)? = to["name"] else {
                    throw DecodeError.invalid("tool without a name")
                }
                tools.append((tn, Array(t.compactJSON().utf8)))
            }
        }
        func int(_ k: String, _ d: Int) -> Int { if case .number(let n)? = o[k] { return Int(n) } else { return d } }
        var zstd = false // absent means the executor cannot decompress
        if case .bool(let z)? = o["zstd"] { zstd = z }
        return Ready(version: Int(v), executor: name, pid: int("pid", 0), maxFrame: int("maxFrame", FrameHeader.maxPayload),
                     zstd: zstd, maxConcurrency: max(1, int("maxConcurrency", 64)), tools: tools)
    }
}
