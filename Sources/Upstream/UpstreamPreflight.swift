import EventLoop
import Glibc
import MCPCore

/// What `switchyard serve` checks before it starts anything: each upstream is started once,
/// initialized and listed, so that a command that does not exist, exits at once or writes
/// garbage, and a name two sources both serve, stop the start with an error that says which.
public enum UpstreamPreflight {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// `builtIn`: names already served (tool and prompt names, resource URIs) and where from
    /// ("tool pack demo"). Throws the first problem found, naming the upstream and the other source.
    public static func check(_ specs: [UpstreamSpec], builtIn: [String: String]) throws(Failed) {
        let local = specs.filter { $0.url == nil }
        guard !specs.isEmpty else { return }
        // A copy that exits before reading what we wrote must not take this process with it.
        signal(SIGPIPE, SIG_IGN)
        let loop = Loop()
        var results = RemotePreflight.list(specs.filter { $0.url != nil })
        var copies: [UpstreamCopy] = []
        let log = Log("serve")
        for spec in local {
            let copy = UpstreamCopy(spec: spec, label: "check", loop: loop, log: Log("upstream:\(spec.name)"))
            copies.append(copy)
            copy.onReady = { c in
                UpstreamListing.fetch(from: c) { result in
                    results[spec.name] = result
                    c.stop()
                }
            }
            copy.onEnded = { _, reason in
                if results[spec.name] == nil {
                    results[spec.name] = .failure(UpstreamFailure(code: -32603, message: reason, data: nil))
                }
                if copies.allSatisfy({ $0.state == .dead }) { loop.stop() }
            }
            copy.start()
        }
        let deadline = Timer.once(loop: loop, after: UpstreamBridge.startupTimeoutMs) { loop.stop() }
        if copies.contains(where: { $0.state != .dead }) { loop.run() }
        deadline.close()
        for c in copies where c.state != .dead { c.kill("start-up check over") }
        if copies.contains(where: { $0.state != .dead }) {
            let t = Timer(loop: loop) { if copies.allSatisfy({ $0.state == .dead }) { loop.stop() } }
            t.start(after: 10, repeat: 10)
            loop.run()
            t.close()
        }
        _ = log
        var owners: [String: String] = [:]
        for (k, v) in builtIn { owners[k] = v }
        for spec in specs {
            let what = "upstream '\(spec.name)' (\(spec.url.map { RemoteEndpoint.loggable($0) } ?? spec.argv.last ?? ""))"
            switch results[spec.name] {
            case nil:
                throw Failed(description: "\(what) did not initialize and list its catalog within "
                             + "\(UpstreamBridge.startupTimeoutMs / 1000) s")
            case .failure(let f)?:
                throw Failed(description: "\(what) cannot be used: \(f.message)")
            case .success(let listing)?:
                for (kind, name) in listing.publicNames(prefix: spec.prefix) {
                    let key = "\(kind == "resource template" ? "resource" : kind == "prompt" ? "prompt" : kind):\(name)"
                    if let other = owners[key] {
                        throw Failed(description: "the \(kind) '\(name)' is served by both \(other) and upstream "
                                     + "'\(spec.name)': set a prefix for upstream '\(spec.name)' (config key 'prefix')")
                    }
                    owners[key] = "upstream '\(spec.name)'"
                }
            }
        }
    }
}
