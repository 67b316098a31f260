/// Which source serves each name of the merged catalog, kept across rebuilds, so that a name an
/// upstream MCP server adds at run time (its `list_changed`) cannot silently shadow, or be
/// shadowed by, the same name from another source. Start-up conflicts between upstreams and the
/// built-in packs are refused before anything starts (`UpstreamPreflight`); this covers what
/// appears later, and names of `--executor-cmd` executors (their catalogs are known only once
/// they run).
///
/// A source is an executor's name without its instance number: `swift-0` and `swift-1` are one
/// source (replicas of the built-in packs), `upstream.fs-100` is upstream `fs`. Names served by
/// several sources merge as before unless one of them is an upstream: then one source owns the
/// name and the others' entries are left out, with an error logged once per conflict.
///
/// The owner is decided by a rank that is the same on every front, so that fronts agree whatever
/// order their links became ready in (a front that restarts sees them in another order):
/// sources that are not upstreams first (rank 0), then upstreams in config order (rank: their
/// slot number, 100 + position). Among sources of one rank (only non-upstreams share one, and
/// they merge) the first to list a name keeps it. An owner keeps its names while it restarts
/// (no link ready) unless a source of a better rank lists them; it gives a name up once it
/// lists its catalog without it. A front that starts while the owner is still starting serves
/// a worse-ranked source's entry until the owner is ready, then the owner's, as the others do.
/// Thread: the loop thread.
final class CatalogOwners {
    /// `kind:name` (tool, prompt, resource, template) → owning source.
    private var owners: [String: String] = [:]
    /// Each source's rank, as last seen (kept for owners that are restarting).
    private var ranks: [String: Int] = [:]
    /// Conflicts already logged, as `key\0refused`; only conflicts that still hold are kept.
    private(set) var reported: Set<String> = []
    /// Conflicts found by the last `begin`…`admit` pass, for the caller to log.
    private(set) var conflicts: [(kind: String, name: String, owner: String, refused: String)] = []

    /// The source of an executor named `executor`.
    static func source(of executor: String) -> String {
        guard let dash = executor.lastIndex(of: "-"),
              !executor[executor.index(after: dash)...].isEmpty,
              executor[executor.index(after: dash)...].allSatisfy(\.isNumber) else { return executor }
        return String(executor[..<dash])
    }

    /// The rank of the source of an executor named `executor`: 0 for sources that are not
    /// upstreams, an upstream's slot number (its position in the config, from 100) otherwise.
    /// Lower ranks own a name.
    static func rank(of executor: String) -> Int {
        let source = source(of: executor)
        guard isUpstream(source) else { return 0 }
        guard source != executor, let n = Int(executor.dropFirst(source.count + 1)) else { return Int.max }
        return max(1, n)
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

    /// Starts a rebuild: `listed` holds, per source with a ready link, the keys it lists now;
    /// `rank` each source's rank (`rank(of:)`). Decides every listed key's owner: an owner that
    /// is restarting (not in `listed`) keeps a name unless a better-ranked source lists it; one
    /// that lists its catalog without a name gives it up.
    func begin(listed: [String: Set<String>], rank: [String: Int]) {
        conflicts.removeAll()
        for (source, r) in rank { ranks[source] = r }
        owners = owners.filter { key, owner in listed[owner].map { $0.contains(key) } ?? true }
        // Sources in rank order (then by name: any fixed order will do within a rank, which
        // merges), so that the best-ranked source that lists a key gets it.
        let order = listed.keys.sorted { (ranks[$0] ?? 0, $0) < (ranks[$1] ?? 0, $1) }
        for source in order {
            let r = ranks[source] ?? 0
            for key in listed[source]! {
                if let owner = owners[key], owner == source || (ranks[owner] ?? 0) <= r { continue }
                owners[key] = source
            }
        }
        // Forget reported conflicts that no longer hold, so the set is bounded by the catalogs.
        reported = reported.filter { entry in
            guard let sep = entry.lastIndex(of: "\u{0}") else { return false }
            let key = String(entry[..<sep]), refused = String(entry[entry.index(after: sep)...])
            guard let owner = owners[key], owner != refused else { return false }
            return listed[refused].map { $0.contains(key) } ?? true
        }
    }

    /// Whether `source` may serve `key` (`kind:name`): it owns it, or neither it nor the owner
    /// is an upstream (they merge). A key nobody owns (not listed in `begin`) goes to `source`.
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

    /// The source that owns `key` (`kind:name`), if any.
    func owner(of key: String) -> String? { owners[key] }
}
