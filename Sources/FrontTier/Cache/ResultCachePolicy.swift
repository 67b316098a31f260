import MCPCore

/// Which tools' results the front caches fresh, and for how long: a TTL from the config
/// (`--tool-cache-ttl NAME=MS`) or else the executor's (`_meta["io.switchyard/cacheTtlMs"]`),
/// for tools annotated both `readOnlyHint` and `idempotentHint` only. A TTL on any other tool is
/// ignored, with one warning naming it (`refused`). Built once per catalog; looked up per call
/// by the name's bytes, so a tool without a TTL costs one hash of its name.
struct ResultCachePolicy {
    static var maxTtlMs: UInt64 { FrontOptions.maxToolCacheTtlMs }

    struct Rule {
        let tool: String
        let ttlMs: UInt64
        /// One result for every caller (`cacheScope: "shared"`); else one per principal.
        let shared: Bool
    }

    private var rules: [UInt64: [Rule]] = [:]
    /// Tools given a TTL that they may not have (not read-only and idempotent), with why.
    private(set) var refused: [(tool: String, why: String)] = []

    init() {}

    init(traits: [String: ToolTraits], configured: [String: UInt64]) {
        for (tool, t) in traits.sorted(by: { $0.key < $1.key }) {
            let fromConfig = configured[tool]
            guard let ttl = fromConfig ?? t.cacheTtlMs else { continue }
            guard t.pure else {
                let source = fromConfig != nil ? "--tool-cache-ttl" : "its executor's io.switchyard/cacheTtlMs"
                refused.append((tool, "a result-cache TTL (from \(source)) needs annotations readOnlyHint and "
                                + "idempotentHint both true; its results are not cached"))
                continue
            }
            rules[FNV1a.hash(tool.utf8), default: []].append(Rule(tool: tool, ttlMs: ttl, shared: t.sharedCache))
        }
    }

    var isEmpty: Bool { rules.isEmpty }

    /// The rule of the tool named by `name` (its UTF-8 bytes), if its results are cached.
    func rule(named name: UnsafeRawBufferPointer) -> Rule? {
        guard !rules.isEmpty, let bucket = rules[FNV1a.hash(name)] else { return nil }
        return bucket.first { $0.tool.utf8.elementsEqual(name) }
    }
}
