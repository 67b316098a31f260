import EventLoop

/// Finds the master's address by asking the Sentinels in turn (`SENTINEL
/// get-master-addr-by-name`), starting with the one that answered last.
///
/// Each question goes over a short-lived connection, closed once answered; it is bounded by
/// the connect and command timeouts. Thread: the loop thread only.
final class SentinelResolver {
    private let sentinels: [RedisEndpoint]
    private let master: String
    private let loop: Loop
    private let options: RedisOptions
    private let counters: RedisCounters
    private let handshake: [HandshakeStep]
    private var preferred = 0

    init(sentinels: [RedisEndpoint], master: String, settings: RedisSettings, loop: Loop, options: RedisOptions, counters: RedisCounters) {
        self.sentinels = sentinels
        self.master = master
        self.loop = loop
        self.options = options
        self.counters = counters
        // A Sentinel may have no password of its own: its refusal of AUTH is harmless.
        handshake = Handshake.login(settings, ignoringRefusal: true) + [Handshake.ping]
    }

    /// `done` gets the master's numeric address, or why no Sentinel gave one.
    func resolve(_ done: @escaping (Lookup) -> Void) {
        ask(0, failures: [], done)
    }

    /// The next Sentinel to ask, for a subscription to `+switch-master`.
    func nextSentinel(_ done: @escaping (Lookup) -> Void) {
        guard !sentinels.isEmpty else { return done(.failure("no Sentinel configured")) }
        let sentinel = sentinels[preferred % sentinels.count]
        preferred = (preferred + 1) % sentinels.count
        HostResolver.resolve(loop: loop, sentinel, done)
    }

    private func ask(_ tried: Int, failures: [String], _ done: @escaping (Lookup) -> Void) {
        guard tried < sentinels.count else {
            return done(.failure("no Sentinel gave master \(master) (\(failures.joined(separator: "; ")))"))
        }
        let index = (preferred + tried) % sentinels.count
        let sentinel = sentinels[index]
        let next: (String) -> Void = { [weak self] why in
            self?.ask(tried + 1, failures: failures + ["\(sentinel): \(why)"], done)
        }
        HostResolver.resolve(loop: loop, sentinel) { [weak self] resolved in
            guard let self else { return }
            switch resolved {
            case .failure(let why): next(why.reason)
            case .success(let address): self.query(address, index: index, next: next, done)
            }
        }
    }

    private func query(_ address: RedisEndpoint, index: Int, next: @escaping (String) -> Void,
                       _ done: @escaping (Lookup) -> Void) {
        let conn = RedisConnection(loop: loop, endpoint: address, options: options, counters: counters, handshake: handshake)
        // The connection can fail both ways (closed, and its pending reply DOWN): move on once.
        var answered = false
        let moveOn: (String) -> Void = { why in
            guard !answered else { return }
            answered = true
            next(why)
        }
        conn.onClosed = { reason in moveOn(reason) }
        conn.onReady = { [weak self, unowned conn] in
            guard let self else { return }
            let command = RESPCommand.encode(["SENTINEL", "get-master-addr-by-name", self.master].map { Array($0.utf8) })
            let sent = conn.send(command) { [weak self] reply in
                conn.close("answered")
                guard let self, !answered else { return }
                guard case .array(let items) = reply, items.count == 2, let host = items[0].string,
                      let portText = items[1].string, let port = Int(portText), (1...65535).contains(port) else {
                    return moveOn(reply.errorMessage ?? "does not know master \(self.master)")
                }
                answered = true
                self.preferred = index
                HostResolver.resolve(loop: self.loop, RedisEndpoint(host: host, port: port), done)
            }
            if !sent { conn.abort("cannot queue SENTINEL") }
        }
        conn.open()
    }
}
