import EventLoop
import MCPCore

/// What `serve` checks of remote upstreams before it starts anything (with the stdio ones in
/// `UpstreamPreflight`): each is reached, its era negotiated and its catalog listed, so that a
/// host that cannot be reached, a refused certificate or credentials, an answer that is not
/// MCP, or a server that does not answer in time stop the start with an error naming it.
enum RemotePreflight {
    /// Each remote spec's listing, or why there is none.
    static func list(_ specs: [UpstreamSpec]) -> [String: Result<UpstreamListing, UpstreamFailure>] {
        guard !specs.isEmpty else { return [:] }
        let loop = Loop()
        var results: [String: Result<UpstreamListing, UpstreamFailure>] = [:]
        var remotes: [RemoteUpstream] = []
        func settle(_ name: String, _ r: Result<UpstreamListing, UpstreamFailure>) {
            guard results[name] == nil else { return }
            results[name] = r
            if results.count == specs.count { loop.stop() }
        }
        for spec in specs {
            let log = Log("upstream:\(spec.name)")
            let remote: RemoteUpstream
            do {
                remote = try RemoteUpstream(spec: spec, loop: loop, log: log)
            } catch {
                settle(spec.name, .failure(UpstreamFailure(code: -32603, message: error.description, data: nil)))
                continue
            }
            remotes.append(remote)
            remote.start { why in
                if let why { settle(spec.name, .failure(UpstreamFailure(code: -32603, message: why, data: nil))); return }
                UpstreamListing.fetch(from: remote) { settle(spec.name, $0) }
            }
        }
        if results.count < specs.count {
            let deadline = Timer.once(loop: loop, after: UpstreamBridge.startupTimeoutMs) { loop.stop() }
            loop.run()
            deadline.close()
        }
        // The check's sessions are ended (the bridge makes its own).
        var ending = remotes.count
        for r in remotes { r.endSession { ending -= 1; if ending == 0 { loop.stop() } } }
        if ending > 0 { loop.run() }
        for r in remotes { r.stop() }
        // Let the closes run (connections, timers) before the loop goes.
        let drain = Timer.once(loop: loop, after: 10) { loop.stop() }
        loop.run()
        drain.close()
        loop.run()
        return results
    }
}
