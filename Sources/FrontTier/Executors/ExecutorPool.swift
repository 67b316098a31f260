import CSupport
import EventLoop
import Glibc
import MCPCore
import WireProtocol

/// Who hears of the pool's links as a whole. Thread: the loop thread.
protocol ExecutorPoolObserver: AnyObject {
    /// Links came, went, drained, changed their catalog or freed capacity.
    func executorsChanged()
    /// A link-wide notification of an executor (a list change, a resource update).
    func executorNotification(_ payload: [UInt8])
}

/// The executors this front can reach: finds their sockets in the run directory, keeps one
/// link to each, merges their catalogs and picks the link for each call.
/// Thread: the loop thread.
final class ExecutorPool: FrontLinkOwner {
    let loop: Loop
    let directory: String
    let peerName: String
    let compressThreshold: Int
    private let log: Log
    private var links: [String: FrontLink] = [:]      // by socket path
    /// Frame and byte tallies of every link, for metrics.
    let linkStats = LinkStats()
    private var closedLinkNames: [String] = []

    var allLinks: [FrontLink] { Array(links.values) }

    /// Names of links closed since the last call (their gauges are reset).
    func takeClosedLinkNames() -> [String] {
        defer { closedLinkNames.removeAll() }
        return closedLinkNames
    }
    private var connecting: Set<String> = []
    private var scanTimer: Timer?
    /// Tool name -> links that host it, in catalog order of arrival.
    /// Every linked executor's catalog merged, rebuilt when links come, go or change. Read per
    /// request (routing, argument validation), replaced whole by `rebuildCatalog` on the loop
    /// thread, never held `inout`: no dynamic exclusivity check (see README, "How the numbers moved").
    @exclusivity(unchecked) private(set) var catalog = MergedCatalog()
    /// Who serves each catalog name, across rebuilds (run-time name conflicts with upstreams).
    private let owners = CatalogOwners()
    /// What the front routes on, per tool name (from the catalogs' annotations and _meta).
    var traits: [String: ToolTraits] { catalog.traits }

    /// Tools ever seen in a catalog: a call to one of them waits for an executor to come back
    /// instead of failing as unknown.
    private(set) var knownTools: Set<String> = []
    /// Gets every frame about a call (answers, events, client requests, lost links).
    /// Set once by the router, which owns the calls.
    unowned(unsafe) var calls: CallRouter? = nil
    /// Told of changes to the set of links and of link-wide notifications.
    weak var observer: (any ExecutorPoolObserver)?

    init(loop: Loop, directory: String, peerName: String, compressThreshold: Int, log: Log) {
        self.loop = loop
        self.directory = directory
        self.peerName = peerName
        self.compressThreshold = compressThreshold
        self.log = log
    }

    /// Scans now and then every `intervalMs`; an executor that restarts is found again.
    func start(intervalMs: UInt64 = 100) {
        scan()
        let t = Timer(loop: loop) { [unowned self] in self.scan() }
        t.start(after: intervalMs, repeat: intervalMs)
        t.unref()
        scanTimer = t
    }

    var readyLinks: [FrontLink] { links.values.filter { $0.ready != nil }.sorted { $0.name < $1.name } }
    var hasReadyLink: Bool { links.values.contains { $0.isUsable } }
    var totalOutstanding: Int { links.values.reduce(0) { $0 + $1.outstanding } }

    /// Socket files in the run directory, sorted.
    func socketPaths() -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name.hasSuffix(".sock") { out.append(directory + "/" + name) }
        }
        return out.sorted()
    }

    func scan() {
        for path in socketPaths() where links[path] == nil && !connecting.contains(path) {
            connecting.insert(path)
            UnixConnector.connect(loop: loop, path: path) { [weak self] result in
                guard let self else { return }
                self.connecting.remove(path)
                guard case .success(let conn) = result else { return }
                if self.stopped { conn.close(); return }
                self.links[path] = FrontLink(socketPath: path, conn: conn, owner: self, peer: self.peerName,
                                             compressThreshold: self.compressThreshold, log: self.log, stats: self.linkStats)
            }
        }
    }

    /// Can any link take a call now: usable, with room, breaker not open? (When none can, no
    /// waiting call needs looking at.)
    func anyLinkCanTake(now: UInt64) -> Bool {
        links.values.contains { $0.canTake(now: now) }
    }

    /// The least busy usable link that hosts `tool`, has room, and whose breaker lets a call
    /// through; `avoid` is skipped (a retry goes to another executor) unless it is the only one.
    func pick(tool: String, kind: CallPayload.Kind = .tool, now: UInt64, avoid: FrontLink? = nil) -> FrontLink? {
        guard let candidates = catalog.candidates(kind, tool) else { return nil }
        var best: FrontLink?
        for l in candidates where l !== avoid && l.canTake(now: now) {
            if best == nil || l.outstanding < best!.outstanding { best = l }
        }
        if best == nil, let avoid, avoid.canTake(now: now) { best = avoid }
        if let b = best, !b.breaker.allow(now: now) { return nil }
        return best
    }

    /// Why `pick` found nothing: no executor hosts it now, or all that do are shedding/full.
    enum Availability { case unknownTool, noExecutor, allShedding, allBusy }

    func availability(tool: String, kind: CallPayload.Kind = .tool, now: UInt64) -> Availability {
        guard let candidates = catalog.candidates(kind, tool), candidates.contains(where: { $0.isUsable }) else {
            return kind == .tool && knownTools.contains(tool) ? .noExecutor : .unknownTool
        }
        let usable = candidates.filter { $0.isUsable }
        if usable.allSatisfy({ $0.breaker.isOpen(now: now) }) { return .allShedding }
        return .allBusy
    }


    // MARK: FrontLinkOwner

    func linkReady(_ link: FrontLink) {
        log.info("executor linked", [("executor", link.name), ("pid", String(link.ready?.pid ?? 0)),
                                     ("tools", String(link.ready?.tools.count ?? 0))])
        rebuildCatalog()
    }

    func linkClosed(_ link: FrontLink, pending: [PendingCall]) {
        if links[link.socketPath] === link { links[link.socketPath] = nil }
        if link.ready != nil { closedLinkNames.append(link.name) }
        if link.ready != nil {
            log.warning("executor link lost", [("executor", link.name), ("inFlight", String(pending.count))])
        }
        for call in pending { calls!.lost(call, executor: link.name) }
        rebuildCatalog()
    }

    func linkChanged(_ link: FrontLink) { observer?.executorsChanged() }

    func event(_ call: PendingCall, type: FrameType, payload: [UInt8]) { calls!.event(call, type: type, payload: payload) }

    func linkNotification(_ link: FrontLink, payload: [UInt8]) { observer?.executorNotification(payload) }

    /// The merged catalog is rebuilt, and this front's clients get the list_changed
    /// notifications of the lists that differ (every front gets the frame on its own link).
    func linkCatalogChanged(_ link: FrontLink, before: Catalog) {
        guard let now = link.ready?.catalog else { return }
        log.info("executor catalog changed", [("executor", link.name), ("tools", String(now.tools.count))])
        rebuildCatalog()
        var lists: [String] = []
        if before.tools != now.tools { lists.append("tools") }
        if before.prompts != now.prompts { lists.append("prompts") }
        if before.resources != now.resources || before.resourceTemplates != now.resourceTemplates {
            lists.append("resources")
        }
        for list in lists {
            observer?.executorNotification(Array("{\"method\":\"notifications/\(list)/list_changed\"}".utf8))
        }
    }

    func clientRequest(_ call: PendingCall, link: FrontLink, payload: [UInt8]) {
        calls!.clientRequest(call, link: link, payload: payload)
    }

    /// A usable link to the executor named `name`, to carry a client's answer back.
    func link(named name: String) -> FrontLink? {
        links.values.first { $0.ready?.executor == name && !$0.conn.isClosed }
    }

    func deliver(_ call: PendingCall, type: FrameType, payload: UnsafeRawBufferPointer,
                 chunk: UnsafeMutablePointer<sy_chunk_t>?) {
        calls!.delivered(call, type, payload, chunk)
    }

    /// Merges the catalogs of the ready links; the first executor (by name) to list a name wins
    /// its description.
    func rebuildCatalog() {
        let before = catalog.schemaErrors
        catalog = MergedCatalog(links: readyLinks, previous: catalog.schemas, owners: owners)
        for c in owners.conflicts {
            // Kept serving: the name stays with the source that had it, the newcomer's entry is left out.
            log.error("name conflict: entry refused", [
                ("kind", c.kind), ("name", c.name), ("servedBy", CatalogOwners.describe(c.owner)),
                ("refused", CatalogOwners.describe(c.refused)),
                ("fix", "set a prefix for the upstream (config key 'prefix'), or rename the entry")])
        }
        for (tool, e) in catalog.schemaErrors.sorted(by: { $0.key < $1.key }) where before[tool] != e {
            log.warning("tool inputSchema not compiled; its calls go unvalidated at the front",
                        [("tool", tool), ("error", e.description)])
        }
        for name in catalog.tools.keys { knownTools.insert(name) }
        observer?.executorsChanged()
    }

    private var stopped = false

    /// Says goodbye to every executor once its calls are done.
    func shutdown() {
        stopped = true
        scanTimer?.close()
        scanTimer = nil
        for l in links.values { l.goodbye() }
    }

    var statusJSON: String {
        let items = readyLinks.map { l -> String in
            let tools = l.ready!.tools.map { JSONValue.quote($0.name) }.joined(separator: ",")
            return "{\"name\":\(JSONValue.quote(l.name)),\"pid\":\(l.ready!.pid),\"tools\":[\(tools)],\"inFlight\":\(l.outstanding),\"draining\":\(l.draining),\"breaker\":\"\(l.breaker.name)\"}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}
