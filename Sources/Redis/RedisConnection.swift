import CHiredis
import CRedis
import EventLoop
import Synchronization

/// One step of a connection's handshake: a command sent first on every new connection, and
/// the check of its reply (nil: passed; else why the connection is refused).
struct HandshakeStep: Sendable {
    let command: [[UInt8]]
    let check: @Sendable (RedisReply) -> String?
}

/// One hiredis async context on the loop: connect, handshake, pipelined commands, pub/sub
/// pushes, and the watchdog that fails a connection whose replies stop coming.
///
/// A connection never reconnects: when it fails it reports `onClosed` once and is done; the
/// owner (`NodeLink`, `PubSubLink`) makes a new one. Every reply callback handed to `send` is
/// called exactly once: with the reply, or with `.error("DOWN ...")` when the connection goes
/// away first (hiredis runs every pending callback with a NULL reply when it frees a context).
///
/// Ownership: the hiredis context holds one retained reference to this object (`ac->data`)
/// from `open` until the context is freed; it is released at the end of that loop turn, after
/// hiredis has run its last callback. hiredis frees the context itself after a failed connect
/// or a disconnect; `abort` and `retire` free it otherwise. The poll handle belongs to the
/// context (CSupport/redis). The watchdog timer is closed when the connection closes.
/// Thread: the loop thread only.
final class RedisConnection {
    enum Phase { case connecting, ready, closed }

    /// A numeric address (names are resolved before, without blocking the loop).
    let endpoint: RedisEndpoint
    private(set) var phase = Phase.connecting
    /// Why the connection closed: the text of the DOWN errors of its pending replies.
    private(set) var closeReason = ""
    /// Called once when the handshake passed.
    var onReady: (() -> Void)?
    /// Called once when the connection is gone (not when the owner closed it).
    var onClosed: ((String) -> Void)?
    /// Pub/sub pushes (subscribe acknowledgements and messages) after `subscribe`.
    var onPush: ((RedisReply) -> Void)?
    /// Every error reply, before it is delivered (the sentinel mode watches for READONLY).
    var onErrorReply: ((String) -> Void)?
    /// A push is expected (a SUBSCRIBE acknowledgement): none within the command timeout and
    /// the connection is dead.
    var awaitingPush = false {
        didSet { if !awaitingPush { awaitingPushSince = nil } }
    }
    private var awaitingPushSince: UInt64?

    private let loop: Loop
    private let options: RedisOptions
    private let counters: RedisCounters
    private var handshake: [HandshakeStep]
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var retainedByContext = false
    /// Replies awaited (hiredis answers in order).
    private(set) var pending = 0
    /// When the watchdog first saw the connection still connecting / waiting without a reply
    /// since the last one (nil: not seen yet). Marked by the watchdog itself, not at send
    /// time: `loop.now` is the time of the turn, stale when a caller sends before the loop
    /// runs again. A deadline is thus the timeout plus at most one watchdog period.
    private var connectingSince: UInt64?
    private var waitingSince: UInt64?
    private var watchdog: EventLoop.Timer?

    /// Connection objects alive in this process: the tests check that every closed one was
    /// released (its context's reference dropped exactly once).
    static let live = Atomic<Int>(0)

    init(loop: Loop, endpoint: RedisEndpoint, options: RedisOptions, counters: RedisCounters, handshake: [HandshakeStep]) {
        RedisConnection.live.add(1, ordering: .relaxed)
        self.loop = loop
        self.endpoint = endpoint
        self.options = options
        self.counters = counters
        self.handshake = handshake
    }

    deinit { RedisConnection.live.subtract(1, ordering: .relaxed) }

    /// Starts the non-blocking connect and queues the handshake behind it. A failure is
    /// reported through `onClosed` later in this turn, never from inside `open`.
    func open() {
        guard let ac = redisAsyncConnect(endpoint.host, Int32(endpoint.port)) else {
            failLater("out of memory")
            return
        }
        if ac.pointee.err != 0 {
            let reason = String(cString: sy_redis_errstr(ac))
            redisAsyncFree(ac)
            failLater(reason)
            return
        }
        let rc = sy_redis_attach(ac, loop.uv)
        guard rc == 0 else {
            redisAsyncFree(ac)
            failLater("cannot watch the socket (\(rc))")
            return
        }
        ac.pointee.data = Unmanaged.passRetained(self).toOpaque()
        retainedByContext = true
        context = ac
        redisAsyncSetConnectCallback(ac, connectCallback)
        redisAsyncSetDisconnectCallback(ac, disconnectCallback)
        _ = redisEnableKeepAlive(UnsafeMutableRawPointer(ac).assumingMemoryBound(to: redisContext.self))
        let period = max(20, min(250, min(options.commandTimeout, options.connectTimeout) / 4))
        let timer = EventLoop.Timer(loop: loop) { [unowned self] in self.checkDeadlines() }
        timer.start(after: period, repeat: period)
        timer.unref()
        watchdog = timer
        startHandshake()
    }

    private func startHandshake() {
        let steps = handshake
        handshake = []
        guard !steps.isEmpty else { return becomeReadyIfConnected() }
        var left = steps.count
        for step in steps {
            let sent = send(RESPCommand.encode(step.command)) { [unowned self] reply in
                guard self.phase == .connecting else { return }
                if let refusal = step.check(reply) {
                    self.abort(refusal)
                    return
                }
                left -= 1
                if left == 0 { self.becomeReady() }
            }
            if !sent { return abort("cannot queue the handshake") }
        }
    }

    private var hiredisConnected = false
    private var readyWhenConnected = false

    private func becomeReadyIfConnected() {
        if hiredisConnected { becomeReady() } else { readyWhenConnected = true }
    }

    private func becomeReady() {
        guard phase == .connecting else { return }
        phase = .ready
        onReady?()
    }

    /// Queues one RESP command; `deliver` gets its reply exactly once. False (and `deliver`
    /// dropped) when the connection no longer takes commands.
    @discardableResult
    func send(_ command: [UInt8], _ deliver: @escaping (RedisReply) -> Void) -> Bool {
        guard let ac = context, phase != .closed else { return false }
        let box = Unmanaged.passRetained(ReplyBox(deliver)).toOpaque()
        guard queue(command, on: ac, replyCallback, box) else {
            Unmanaged<ReplyBox>.fromOpaque(box).release()
            return false
        }
        pending += 1
        return true
    }

    /// SUBSCRIBE on this connection (which then only takes SUBSCRIBE and UNSUBSCRIBE):
    /// acknowledgements and messages arrive through `onPush`.
    @discardableResult
    func subscribe(_ channels: [[UInt8]]) -> Bool {
        guard let ac = context, phase == .ready, !channels.isEmpty else { return false }
        return queue(RESPCommand.encode([Array("SUBSCRIBE".utf8)] + channels), on: ac, pushCallback, nil)
    }

    /// UNSUBSCRIBE (hiredis gives it no callback of its own: the acknowledgement is a push).
    func unsubscribe(_ channels: [[UInt8]]) {
        guard let ac = context, phase == .ready, !channels.isEmpty else { return }
        _ = queue(RESPCommand.encode([Array("UNSUBSCRIBE".utf8)] + channels), on: ac, nil, nil)
    }

    private var flushScheduled = false

    /// Appends a command to hiredis' output; the output of a connected context leaves in one
    /// write at the end of the loop turn, whatever number of commands the turn queued.
    private func queue(_ command: [UInt8], on ac: UnsafeMutablePointer<redisAsyncContext>, _ callback: HiredisCallback?,
                       _ privdata: UnsafeMutableRawPointer?) -> Bool {
        var flush: Int32 = 0
        precondition(command.last == 0, "a command for hiredis is NUL-terminated (RESPCommand.encode)")
        let rc = command.withUnsafeBufferPointer {
            sy_redis_command(ac, callback, privdata, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                             $0.count - 1, &flush)
        }
        if flush != 0 && !flushScheduled {
            flushScheduled = true
            loop.runAtEndOfTurn { [self] in
                flushScheduled = false
                // Closed meanwhile: hiredis freed (or is freeing) the context.
                if let context { sy_redis_flush(context) }
            }
        }
        return rc == REDIS_OK
    }

    /// Closes now: pending replies get DOWN errors; `onClosed` is not called.
    func close(_ reason: String) {
        onClosed = nil
        abort(reason)
    }

    /// Closes after the pending replies have arrived (or the watchdog gives up on them);
    /// `onClosed` is not called.
    func retire() {
        onClosed = nil
        onReady = nil
        guard let ac = context else { return }
        // Not connected yet: hiredis would free it without the disconnect callback.
        guard sy_redis_is_connected(ac) != 0 else { return abort("retired") }
        redisAsyncDisconnect(ac)
    }

    /// Fails the connection now: its pending replies get DOWN errors, `onClosed` is called.
    func abort(_ reason: String) {
        guard let ac = context else { return }
        let connected = sy_redis_is_connected(ac) != 0
        finish(reason)
        // Inside a hiredis callback the free waits until that callback returns.
        redisAsyncFree(ac)
        // A connected context calls the disconnect callback, which releases; this one will not.
        if !connected { releaseContextReference() }
    }

    // MARK: - hiredis events

    fileprivate func connected(_ status: Int32, reason: String) {
        if status == REDIS_OK {
            hiredisConnected = true
            if readyWhenConnected { becomeReady() }
        } else {
            // hiredis frees the context once this callback returns.
            finish("connect failed: \(reason)")
            releaseContextReference()
        }
    }

    fileprivate func disconnected(reason: String) {
        finish(reason.isEmpty ? "connection closed" : reason)
        releaseContextReference()
    }

    fileprivate func replied(_ box: ReplyBox, _ reply: UnsafeMutableRawPointer?, context ac: UnsafeMutablePointer<redisAsyncContext>) {
        pending -= 1
        waitingSince = nil
        guard let reply else {
            // hiredis is freeing the context: every later callback sees `closed`.
            if phase != .closed { finish(String(cString: sy_redis_errstr(ac)).nonEmpty ?? "connection closed") }
            counters.stats.errors += 1
            box.deliver(.error("DOWN \(endpoint): \(closeReason)"))
            return
        }
        let value = RedisReply(reply.assumingMemoryBound(to: redisReply.self))
        if case .error(let message) = value {
            // Redirections are followed, not failures (ClusterRouter counts those it gives up on).
            if !message.hasPrefix("MOVED ") && !message.hasPrefix("ASK ") && !message.hasPrefix("TRYAGAIN") {
                counters.stats.errors += 1
            }
            onErrorReply?(message)
        }
        box.deliver(value)
    }

    fileprivate func pushed(_ reply: UnsafeMutableRawPointer?, context ac: UnsafeMutablePointer<redisAsyncContext>) {
        guard let reply else {
            if phase != .closed { finish(String(cString: sy_redis_errstr(ac)).nonEmpty ?? "connection closed") }
            return
        }
        onPush?(RedisReply(reply.assumingMemoryBound(to: redisReply.self)))
    }

    // MARK: - Lifecycle

    private func checkDeadlines() {
        guard phase != .closed else { return }
        let now = loop.now
        if phase == .connecting {
            let since = connectingSince ?? now
            connectingSince = since
            if now &- since > options.connectTimeout { return abort("no connection within \(options.connectTimeout) ms") }
        }
        if pending > 0 {
            let since = waitingSince ?? now
            waitingSince = since
            if now &- since > options.commandTimeout {
                counters.stats.timeouts += 1
                return abort("no reply within \(options.commandTimeout) ms")
            }
        }
        if awaitingPush {
            let since = awaitingPushSince ?? now
            awaitingPushSince = since
            guard now &- since > options.commandTimeout else { return }
            counters.stats.timeouts += 1
            return abort("no SUBSCRIBE acknowledgement within \(options.commandTimeout) ms")
        }
    }

    /// The connection is closed for good: never touch the context again (hiredis is freeing it,
    /// or the caller frees it right after).
    private func finish(_ reason: String) {
        guard phase != .closed else { return }
        phase = .closed
        closeReason = reason
        context = nil
        watchdog?.close()
        watchdog = nil
        onReady = nil
        onPush = nil
        let notify = onClosed
        onClosed = nil
        notify?(reason)
    }

    private func failLater(_ reason: String) {
        phase = .closed
        closeReason = reason
        loop.runAtEndOfTurn { [self] in
            let notify = onClosed
            onClosed = nil
            onReady = nil
            notify?(reason)
        }
    }

    /// Drops the context's reference at the end of this turn: hiredis may still run callbacks
    /// (pending replies, the disconnect callback) that reach this object through `ac->data`.
    private func releaseContextReference() {
        guard retainedByContext else { return }
        retainedByContext = false
        let reference = Unmanaged.passUnretained(self)
        loop.runAtEndOfTurn { reference.release() }
    }
}

/// One pending reply's callback, passed to hiredis as `privdata` (retained; released by the
/// reply callback, which hiredis calls exactly once per command).
final class ReplyBox {
    let deliver: (RedisReply) -> Void
    init(_ deliver: @escaping (RedisReply) -> Void) { self.deliver = deliver }
}

/// Counters shared by a client's connections.
final class RedisCounters {
    var stats = RedisStats()
}

private func connection(of ac: UnsafePointer<redisAsyncContext>?) -> RedisConnection? {
    guard let data = ac?.pointee.data else { return nil }
    return Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
}

private let connectCallback: @convention(c) (UnsafePointer<redisAsyncContext>?, Int32) -> Void = { ac, status in
    guard let ac, let conn = connection(of: ac) else { return }
    conn.connected(status, reason: String(cString: sy_redis_errstr(ac)))
}

private let disconnectCallback: @convention(c) (UnsafePointer<redisAsyncContext>?, Int32) -> Void = { ac, _ in
    guard let ac, let conn = connection(of: ac) else { return }
    conn.disconnected(reason: String(cString: sy_redis_errstr(ac)))
}

typealias HiredisCallback = @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void

private let replyCallback: @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { ac, reply, privdata in
    guard let privdata else { return }
    let box = Unmanaged<ReplyBox>.fromOpaque(privdata).takeRetainedValue()
    guard let ac, let conn = connection(of: UnsafePointer(ac)) else {
        box.deliver(.error("DOWN connection closed"))
        return
    }
    conn.replied(box, reply, context: ac)
}

private let pushCallback: @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { ac, reply, _ in
    guard let ac, let conn = connection(of: UnsafePointer(ac)) else { return }
    conn.pushed(reply, context: ac)
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
