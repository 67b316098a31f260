import EventLoop
import Glibc
import WireProtocol

/// The supervisor's own link to an executor: PING every interval, and a verdict when PONGs
/// stop (a blocked loop, a hung process). The executor answers PING on its loop thread, so a
/// tool hogging worker threads does not count; call timeouts and the executor's cancel grace
/// deal with those.
/// Thread: the loop thread.
final class Heartbeat: StreamDelegate {
    let loop: Loop
    let path: String
    let intervalMs: UInt64
    let timeoutMs: UInt64
    private var conn: StreamConnection?
    private var timer: Timer?
    private var lastPong: UInt64
    private var nonce: UInt64 = 0
    private var stopped = false
    /// Called once when the executor missed its heartbeats for `timeoutMs`.
    var onMissed: ((UInt64) -> Void)?

    init(loop: Loop, path: String, intervalMs: UInt64, timeoutMs: UInt64) {
        self.loop = loop
        self.path = path
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
        lastPong = loop.now
    }

    func start() {
        UnixConnector.connect(loop: loop, path: path) { [weak self] result in
            guard let self, !self.stopped else {
                if case .success(let c) = result { c.close() }
                return
            }
            guard case .success(let c) = result else { return } // the exit handler covers a dead child
            self.conn = c
            c.delegate = self
            let hello = "{\"versions\":[1],\"peer\":\"supervisor\",\"zstd\":false}"
            c.writeFrame(.hello, stream: 0, payload: Array(hello.utf8))
            c.startReading()
        }
        lastPong = loop.now
        let t = Timer(loop: loop) { [unowned self] in self.tick() }
        t.start(after: intervalMs, repeat: intervalMs)
        t.unref()
        timer = t
    }

    private func tick() {
        let silent = loop.now &- lastPong
        if silent > timeoutMs {
            stop()
            onMissed?(silent)
            return
        }
        nonce &+= 1
        conn?.writeFrame(.ping, stream: nonce)
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        timer?.close()
        timer = nil
        conn?.close()
        conn = nil
    }

    func streamReadable(_ stream: StreamConnection) {
        _ = stream.forEachFrame { h, _ in
            switch h.type {
            case .pong?, .ready?: self.lastPong = self.loop.now
            case .drain?, .goodbye?:
                // The executor is leaving on purpose: let it go.
                self.stop()
            default: break
            }
        }
    }

    func streamClosed(_ stream: StreamConnection, status: Int32) { conn = nil }
}

/// Resident set size of a process, from /proc.
enum ProcessMemory {
    static func rssBytes(pid: Int32) -> Int? {
        guard let f = fopen("/proc/\(pid)/statm", "r") else { return nil }
        defer { fclose(f) }
        var size = 0, resident = 0
        guard withUnsafeMutablePointer(to: &size, { s in
            withUnsafeMutablePointer(to: &resident) { r in fscanfTwo(f, s, r) }
        }) else { return nil }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func fscanfTwo(_ f: UnsafeMutablePointer<FILE>, _ a: UnsafeMutablePointer<Int>,
                                  _ b: UnsafeMutablePointer<Int>) -> Bool {
        var buf = [CChar](repeating: 0, count: 128)
        guard fgets(&buf, 128, f) != nil else { return false }
        let parts = String(cString: buf).split(separator: " ")
        guard parts.count >= 2, let x = Int(parts[0]), let y = Int(parts[1]) else { return false }
        a.pointee = x
        b.pointee = y
        return true
    }
}
