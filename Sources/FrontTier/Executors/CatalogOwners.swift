/// Which source serves each name of the merged catalog, kept across rebuilds, so that a name an
/// upstream MCP server adds at run time (its `list_changed`) cannot silently shadow, or be
/// shadowed by, the same name from another source. Start-up conflicts are refused before
/// anything starts (`UpstreamPreflight`); this covers what appears later.
///
/// A source is an executor's name without its instance number: `swift-0` and `swift-1` are one
/// source (replicas of the built-in packs), `upstream.fs-100` is upstream `fs`. Names served by
/// several sources merge as before unless one of them is an upstream: then the source that
/// served the name first keeps it and the newcomer's entry is left out, with an error logged once
/// that names both. An owner keeps its names while it restarts (no link ready); it gives a name
/// up once it lists its catalog without it.
/// Thread: the loop thread.
final class CatalogOwners {
    /// `kind:name` (tool, prompt, resource, template) → owning source.
    private var owners: [String: String] = [:]
    /// Conflicts already logged, as `key\0newcomer`.
    private var reported: Set<String> = []
    /// Conflicts found by the last `begin`…`admit` pass, for the caller to log.
    private(set) var conflicts: [(kind: String, name: String, owner: String, refused: String)] = []

    /// The source of an executor named `executor`.
    static func source(of executor: String) -> String {
        guard let dash = executor.lastIndex(of: "-"),
              !executor[executor.index(after: dash)...].isEmpty,
              executor[executor.index(after: dash)...].allSatisfy(\.isNumber) else { return executor }
        return String(executor[..<dash])
    }

    static func isUpstream(_ source: String) -> Bool { source.hasPrefix("upstream.") }

    /// How a source is named in a log line.
    static func describe(_ source: String) -> String {
        if isUpstream(source) { return "upstream '\(source.dropFirst("upstream.".count))'" }
        switch source {
        case "swift": return "the built-in tool packs"
        case "ext": return "the external executors"
        default: return "executor '\(source)'"
        }
    }

    /// Starts a rebuild: `listed` holds, per source with a ready link, the keys it lists now.
    /// Owners whose source lists its catalog without a name give the name up.
    func begin(listed: [String: Set<String>]) {
        conflicts.removeAll()
        owners = owners.filter { key, owner in listed[owner].map { $0.contains(key) } ?? true }
    }

    /// Whether `source` may serve `key` (`kind:name`); the first source to ask owns it.
    func admit(_ kind: String, _ name: String, source: String) -> Bool {
        let key = kind + ":" + name
        guard let owner = owners[key] else {
            owners[key] = source
            return true
        }
        if owner == source || !(Self.isUpstream(owner) || Self.isUpstream(source)) { return true }
        if reported.insert(key + "\u{0}" + source).inserted {
            conflicts.append((kind, name, owner, source))
        }
        return false
    }
}
