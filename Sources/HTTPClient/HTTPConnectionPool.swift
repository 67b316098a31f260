import EventLoop
import TLS

/// Where a pool connects: scheme, host and port (from an `http://` or `https://` URL).
public struct HTTPOrigin: Sendable, Equatable {
    public var tls: Bool
    public var host: String
    public var port: Int

    public init(tls: Bool, host: String, port: Int) { self.tls = tls; self.host = host; self.port = port }

    /// The `Host` header: the port only when it is not the scheme's default; IPv6 in brackets.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
    }

    public var description: String { "\(tls ? "https" : "http")://\(hostHeader)" }
}

/// Keep-alive HTTP/1.1 connections to one origin, at most `limit` at once, one request each
/// at a time (no pipelining: an answer may be a long SSE stream). Requests beyond wait in a
/// FIFO queue. A `reserved` request (the caller's own control traffic, such as an answer that a
/// streaming request is waiting for) goes to the front of the queue and may open up to
/// `reservedExtra` connections beyond the limit, so it never waits behind the very requests that
/// wait for it. A request whose reused connection closes before any byte of the answer (the
/// server's idle timeout raced it) is sent once more on a fresh connection, unless the caller
/// said it is not `resendable` (the server may have acted on it: a tool call that is neither
/// read-only nor idempotent); such a request fails instead. At most `maxWaiting` requests wait;
/// beyond, `send` fails at once (the server is not keeping up; memory stays bounded).
///
/// Ownership: the pool owns its connections and closes them in `close()`; exchanges hold the
/// pool weakly. Thread: the loop thread.
public final class HTTPConnectionPool {
    public let origin: HTTPOrigin
    public let limit: Int
    public static let reservedExtra = 2
    let loop: Loop
    private let tlsContext: TLSContext?
    private let turn: TLSTurn?
    /// Connect (and TLS handshake) time allowed per attempt.
    public var connectTimeoutMs: UInt64
    /// Requests allowed to wait for a connection; `send` fails beyond.
    public var maxWaiting: Int
    private var idle: [HTTPClientConnection] = []
    private var busy: [Int: HTTPClientConnection] = [:]
    private var opening = 0
    private var waiting: [HTTPExchange] = []
    private var nextID = 0
    private var closed = false

    /// Connections opened so far (tests check reuse).
    public private(set) var connectionsOpened = 0
    public var connectionCount: Int { idle.count + busy.count + opening }

    /// `tlsContext` is required for an `https` origin (a client context that verifies the server).
    public init(loop: Loop, origin: HTTPOrigin, tlsContext: TLSContext?, limit: Int, connectTimeoutMs: UInt64 = 10_000,
                maxWaiting: Int = 1024) {
        precondition(limit >= 1)
        precondition(!origin.tls || tlsContext != nil, "an https origin needs a TLS context")
        self.loop = loop; self.origin = origin; self.tlsContext = tlsContext; self.limit = limit
        self.connectTimeoutMs = connectTimeoutMs
        self.maxWaiting = maxWaiting
        turn = origin.tls ? TLSTurn(loop: loop) : nil
    }

    /// Sends `request`; `handler` gets the response (or the failure). Cancel the returned exchange
    /// to give up on it (its connection is closed if the request was sent).
    @discardableResult
    public func send(_ request: HTTPRequest, reserved: Bool = false, resendable: Bool = true,
                     handler: any HTTPResponseHandler) -> HTTPExchange {
        let exchange = HTTPExchange(pool: self, handler: handler, reserved: reserved, resendable: resendable)
        do {
            exchange.bytes = try HTTPRequestWriter.render(request, host: origin.hostHeader)
        } catch {
            exchange.fail(HTTPClientError(.request, "cannot send the request: \(error.description)"))
            return exchange
        }
        guard !closed else {
            exchange.fail(HTTPClientError(.closed, "the connection pool to \(origin.description) is closed"))
            return exchange
        }
        guard waiting.count < maxWaiting else {
            exchange.fail(HTTPClientError(.overloaded, "\(maxWaiting) requests to \(origin.description) already wait for a connection"))
            return exchange
        }
        enqueue(exchange)
        pump()
        return exchange
    }

    private func enqueue(_ exchange: HTTPExchange, first: Bool = false) {
        if exchange.reserved || first {
            let at = waiting.firstIndex { !$0.reserved } ?? waiting.count
            waiting.insert(exchange, at: first && !exchange.reserved ? 0 : at)
        } else {
            waiting.append(exchange)
        }
    }

    /// Closes every connection; waiting requests fail.
    public func close() {
        guard !closed else { return }
        closed = true
        let pending = waiting
        waiting.removeAll()
        for e in pending { e.fail(HTTPClientError(.closed, "the connection pool to \(origin.description) was closed")) }
        for c in idle + Array(busy.values) { c.close() }
        idle.removeAll()
    }

    func withdraw(_ exchange: HTTPExchange) {
        waiting.removeAll { $0 === exchange }
    }

    /// Gives waiting requests idle connections, and opens connections for the rest within the limits.
    private func pump() {
        while !waiting.isEmpty && !closed {
            if let c = idle.popLast() {
                let e = waiting.removeFirst()
                busy[c.id] = c
                e.start(on: c)
                // Writes leave at the end of a loop turn; sent before the loop runs (or between
                // runs), an idle callback makes that turn come instead of blocking in poll.
                if !loop.isCurrentThread { loop.runAtEndOfTurn {} }
                continue
            }
            // Connections being opened will each take a waiting request; open more for the rest.
            guard waiting.count > opening else { return }
            let next = waiting[opening]
            guard connectionCount < limit + (next.reserved ? Self.reservedExtra : 0) else { return }
            open()
        }
    }

    private func open() {
        opening += 1
        connectionsOpened += 1
        nextID += 1
        let attempt = ConnectAttempt(id: nextID)
        attempt.timer = Timer.once(loop: loop, after: connectTimeoutMs) { [weak self, attempt] in
            attempt.timer = nil
            guard let self, !attempt.settled else { return }
            attempt.settled = true
            // A TCP connect still pending is given up (its socket closed now, not when the kernel
            // gives up minutes later). The TLS stream's closure holds the attempt: drop both.
            attempt.endAddressTry()
            attempt.stream?.close()
            attempt.stream = nil
            attempt.watcher = nil
            self.connectFailed(HTTPClientError(.timeout, "no connection to \(self.origin.description) within \(self.connectTimeoutMs) ms"))
        }
        HostLookup.resolve(loop: loop, origin.host) { [weak self] result in
            guard let self, !attempt.settled else { return }
            switch result {
            case .failure(let e): self.settle(attempt, .failure(e))
            case .success(let addresses): self.connect(attempt, addresses, index: 0, lastError: nil)
            }
        }
    }

    /// Tries the host's addresses in order (localhost: ::1, then 127.0.0.1).
    private func connect(_ attempt: ConnectAttempt, _ addresses: [String], index: Int, lastError: String?) {
        guard index < addresses.count else {
            settle(attempt, .failure(HTTPClientError(.connect, "cannot connect to \(origin.description): \(lastError ?? "no address")")))
            return
        }
        // Each address but the last gets its share of the time (at least 2 s, or all of it): one
        // that never answers (blackholed) leaves time for the next. The last has what is left
        // (the attempt's own timer).
        let share = max(connectTimeoutMs / UInt64(addresses.count), min(connectTimeoutMs, 2_000))
        if index < addresses.count - 1 {
            attempt.addressTimer = Timer.once(loop: loop, after: share) { [weak self, attempt] in
                attempt.addressTimer = nil
                attempt.connecting?.cancel()
                attempt.connecting = nil
                guard let self, !attempt.settled else { return }
                self.connect(attempt, addresses, index: index + 1, lastError: "no answer within \(share) ms")
            }
        }
        // `done` may run before connect returns (a bad address): then there is nothing to cancel.
        var reported = false
        let connecting = TCPConnector.connect(loop: loop, host: addresses[index], port: origin.port) { [weak self] result in
            reported = true
            attempt.endAddressTry()
            guard let self else {
                if case .success(let c) = result { c.close() }
                return
            }
            switch result {
            case .failure(let e):
                guard !attempt.settled else { return }
                self.connect(attempt, addresses, index: index + 1, lastError: e.description)
            case .success(let tcp):
                guard !attempt.settled, !self.closed else { tcp.close(); return }
                guard self.origin.tls, let context = self.tlsContext, let turn = self.turn else {
                    self.settle(attempt, .success(tcp))
                    return
                }
                self.handshake(attempt, tcp, context, turn)
            }
        }
        if !reported { attempt.connecting = connecting }
    }

    private func handshake(_ attempt: ConnectAttempt, _ tcp: StreamConnection, _ context: TLSContext, _ turn: TLSTurn) {
        let tls = TLSStream(transport: tcp, context: context, turn: turn)
        attempt.stream = tls
        let watcher = HandshakeWatcher()
        tls.delegate = watcher
        watcher.onClosed = { [weak self, weak tls] in
            guard let self, !attempt.settled else { return }
            let why = tls?.failureReason.flatMap { $0.isEmpty ? nil : $0 } ?? "the server closed the connection"
            self.settle(attempt, .failure(HTTPClientError(.tls, "TLS handshake with \(self.origin.description) failed: \(why)")))
        }
        attempt.watcher = watcher
        tls.onHandshake = { [weak self] s in
            guard let self, !attempt.settled else { return }
            s.onHandshake = nil
            self.settle(attempt, .success(s))
        }
        guard tls.verifyPeer(name: origin.host) else {
            tls.close()
            settle(attempt, .failure(HTTPClientError(.tls, "cannot check certificates for the name '\(origin.host)'")))
            return
        }
        tls.offerProtocols(["http/1.1"])
        tls.startReading()
        tls.connect()
    }

    private func settle(_ attempt: ConnectAttempt, _ result: Result<any ByteStream, HTTPClientError>) {
        guard !attempt.settled else { return }
        attempt.settled = true
        attempt.timer?.close()
        attempt.timer = nil
        attempt.endAddressTry()
        attempt.watcher = nil
        if let tls = attempt.stream as? TLSStream { tls.onHandshake = nil }
        attempt.stream = nil
        switch result {
        case .failure(let e):
            connectFailed(e)
        case .success(let stream):
            opening -= 1
            guard !closed else { stream.close(); return }
            let c = HTTPClientConnection(stream: stream, id: attempt.id)
            c.onIdle = { [weak self] c in self?.connectionIdle(c) }
            c.onClosed = { [weak self] c, reused, receivedAny, handler in
                self?.connectionClosed(c, reused: reused, receivedAny: receivedAny, handler: handler)
            }
            idle.append(c)
            pump()
        }
    }

    /// A connect failed: the first waiting request fails with the reason (each waiting request
    /// gets an attempt of its own, so one refused connect does not fail a whole queue).
    private func connectFailed(_ error: HTTPClientError) {
        opening -= 1
        if !waiting.isEmpty { waiting.removeFirst().fail(error) }
        pump()
    }

    private func connectionIdle(_ c: HTTPClientConnection) {
        busy[c.id] = nil
        guard !closed else { c.close(); return }
        idle.append(c)
        pump()
    }

    private func connectionClosed(_ c: HTTPClientConnection, reused: Bool, receivedAny: Bool,
                                  handler: (any HTTPResponseHandler)?) {
        busy[c.id] = nil
        idle.removeAll { $0 === c }
        if let exchange = handler as? HTTPExchange, !exchange.isDone {
            if reused && !receivedAny && exchange.resendable && !exchange.resent && !closed {
                // The server closed an idle keep-alive connection as the request went out: it never
                // saw it; send it again on a fresh connection.
                exchange.resent = true
                exchange.connection = nil
                enqueue(exchange, first: true)
            } else {
                exchange.fail(HTTPClientError(.closed, receivedAny
                    ? "\(origin.description) closed the connection before the response was complete"
                    : "\(origin.description) closed the connection without answering"))
            }
        }
        pump()
    }
}

/// One connect in progress: its deadline, and the TLS stream once the TCP part is done.
private final class ConnectAttempt {
    let id: Int
    var settled = false
    var timer: Timer?
    /// The TCP connect to the address being tried, and its own deadline.
    var connecting: TCPConnecting?
    var addressTimer: Timer?
    var stream: (any ByteStream)?
    var watcher: HandshakeWatcher?
    init(id: Int) { self.id = id }

    /// The address being tried is done with: its deadline stops; a connect still pending closes.
    func endAddressTry() {
        addressTimer?.close()
        addressTimer = nil
        connecting?.cancel()
        connecting = nil
    }
}

/// The TLS stream's delegate until the handshake completes: it only notices a close.
private final class HandshakeWatcher: ByteStreamDelegate {
    var onClosed: (() -> Void)?
    func streamReadable(_ stream: any ByteStream) {}
    func streamClosed(_ stream: any ByteStream, status: Int32) { onClosed?() }
}

/// One request in a pool: waiting for a connection, sent, or done. Passes the response to the
/// caller's handler until it is done or cancelled. Thread: the loop thread.
public final class HTTPExchange: HTTPResponseHandler {
    weak var pool: HTTPConnectionPool?
    private var strongHandler: (any HTTPResponseHandler)?
    let reserved: Bool
    let resendable: Bool
    var bytes: [UInt8] = []
    var connection: HTTPClientConnection?
    var resent = false
    public private(set) var isDone = false

    init(pool: HTTPConnectionPool, handler: any HTTPResponseHandler, reserved: Bool, resendable: Bool) {
        self.pool = pool
        // Held strongly until done: callers may hand over a handler nobody else keeps.
        self.strongHandler = handler
        self.reserved = reserved
        self.resendable = resendable
    }

    func start(on c: HTTPClientConnection) {
        connection = c
        c.send(bytes, handler: self)
    }

    /// Gives up: a waiting request leaves the queue; a sent one's connection is closed. The
    /// handler hears nothing more.
    public func cancel() {
        guard !isDone else { return }
        isDone = true
        strongHandler = nil
        if let c = connection { connection = nil; c.abandon() } else { pool?.withdraw(self) }
    }

    func fail(_ error: HTTPClientError) {
        guard !isDone else { return }
        isDone = true
        let h = strongHandler
        strongHandler = nil
        connection = nil
        h?.responseFailed(error)
    }

    public func responseHead(_ head: HTTPResponseHead) { if !isDone { strongHandler?.responseHead(head) } }
    public func responseBody(_ bytes: UnsafeRawBufferPointer) { if !isDone { strongHandler?.responseBody(bytes) } }
    public func responseEnd() {
        guard !isDone else { return }
        isDone = true
        let h = strongHandler
        strongHandler = nil
        connection = nil
        h?.responseEnd()
    }
    public func responseFailed(_ error: HTTPClientError) { fail(error) }
}
