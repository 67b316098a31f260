import EventLoop
import Glibc
import MCPCore
import ToolSDK

/// The bridge executor for a remote upstream (a Streamable HTTP MCP server): the same
/// executor face as `UpstreamBridge` (ExecutorRuntime, the pack of forwarding handlers), with
/// a `RemoteUpstream` instead of a pool of stdio copies. Ready once the era is negotiated and
/// the catalog listed; `list_changed` from the server lists again and sends fronts a CATALOG frame.
/// Thread: `run` on the calling thread, which becomes the loop thread.
final class RemoteBridge {
    let spec: UpstreamSpec
    let name: String
    let socketPath: String
    let loop = Loop()
    let log: Log
    private var remote: RemoteUpstream!
    private var link: UpstreamLink!
    private var runtime: ExecutorRuntime?
    private var pack: ToolPack?
    private var relisting = false
    private var relistAgain = false

    init(spec: UpstreamSpec, name: String, socketPath: String) {
        self.spec = spec; self.name = name; self.socketPath = socketPath
        log = Log("upstream:\(spec.name)")
    }

    func run() throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        do {
            remote = try RemoteUpstream(spec: spec, loop: loop, log: log)
        } catch {
            throw UpstreamBridge.StartupFailed(description: "upstream \(spec.name): \(error.description)")
        }
        let mailbox = Mailbox<UpstreamCommand>(loop: loop) { [unowned self] commands in
            for c in commands {
                switch c {
                case .submit(let r): self.remote.submit(r)
                case .cancel(let id): self.remote.cancel(id)
                case .answer(let id, let token, let outcome): self.remote.answer(id, token: token, outcome)
                }
            }
        }
        link = UpstreamLink(name: spec.name, mailbox: mailbox)
        remote.onListChanged = { [unowned self] _ in self.relist() }
        try start()
        // What the remote runs plus what the bridge queues (as UpstreamBridge: calls wait here).
        let runtime = ExecutorRuntime(options: .init(name: name, socketPath: socketPath,
                                                     maxConcurrency: spec.maxConcurrency + spec.maxQueued),
                                      pack: pack!, loop: loop)
        self.runtime = runtime
        let status = try runtime.run()
        // The loop runs once more to end the remote session (at most 1 s).
        remote.endSession { [unowned self] in self.loop.stop() }
        loop.run()
        remote.stop()
        return status
    }

    /// Runs the loop until the era is negotiated and the catalog listed, or that failed.
    private func start() throws {
        var failure: String?
        let deadline = Timer.once(loop: loop, after: UpstreamBridge.startupTimeoutMs) { [unowned self] in
            failure = "no answer within \(UpstreamBridge.startupTimeoutMs / 1000) s"
            self.loop.stop()
        }
        remote.start { [unowned self] why in
            if let why { failure = why; self.loop.stop(); return }
            self.list { result in
                switch result {
                case .success(let p): self.pack = p
                case .failure(let f): failure = f.message
                }
                self.loop.stop()
            }
        }
        loop.run()
        deadline.close()
        guard let pack, failure == nil else {
            let why = failure ?? "no catalog"
            log.error("cannot start upstream", [("url", remote.label), ("error", why)])
            remote.stop()
            throw UpstreamBridge.StartupFailed(description: "upstream \(spec.name) (\(remote.label)): \(why)")
        }
        log.info("upstream ready", [("url", remote.label), ("tools", String(pack.tools.count)),
                                    ("prompts", String(pack.prompts.count)),
                                    ("resources", String(pack.resources.count + pack.resourceTemplates.count))])
    }

    private func list(_ done: @escaping (Result<ToolPack, UpstreamFailure>) -> Void) {
        UpstreamListing.fetch(from: remote) { [unowned self] result in
            switch result {
            case .failure(let f): done(.failure(f))
            case .success(let listing):
                let (pack, problems) = UpstreamPack.make(listing, spec: spec, link: link)
                for p in problems { log.warning("left out of the catalog", [("entry", p)]) }
                done(.success(pack))
            }
        }
    }

    /// The server's list changed: list again (one listing at a time) and replace the catalog.
    private func relist() {
        guard runtime != nil else { return }
        guard !relisting else { relistAgain = true; return }
        relisting = true
        list { [unowned self] result in
            relisting = false
            switch result {
            case .success(let p):
                pack = p
                runtime?.updateCatalog(p)
            case .failure(let f):
                log.warning("could not list the catalog again after list_changed", [("error", f.message)])
            }
            if relistAgain { relistAgain = false; relist() }
        }
    }
}
