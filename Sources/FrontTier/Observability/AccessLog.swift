import EventLoop
import Glibc

/// An optional access log (`--access-log FILE`): one logfmt or JSON line per answered request,
/// buffered and written at most every 250 ms (or at 64 KiB), so the hot path only appends to
/// a byte array.
/// Thread: the loop thread.
final class AccessLog {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var timer: Timer?
    private let front: String
    private let pid = getpid()

    init?(path: String, loop: Loop, front: String) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        self.front = front
        buffer.reserveCapacity(64 * 1024)
        let t = Timer(loop: loop) { [unowned self] in self.flush() }
        t.start(after: 250, repeat: 250)
        t.unref()
        timer = t
    }

    func record(method: String, status: Int, durationNs: UInt64, tool: String?, requestId: String? = nil,
                traceparent: String? = nil) {
        let ms = Double(durationNs) / 1e6
        var fields: [(String, String)] = [("front", front), ("method", method), ("status", String(status)),
                                          ("ms", String(Double(Int(ms * 1000)) / 1000))]
        if let tool { fields.append(("tool", tool)) }
        if let requestId { fields.append(("request_id", requestId)) }
        if let traceparent { fields.append(("traceparent", traceparent)) }
        let time = Log.timestamp()
        let line = Log.format == .json
            ? Log.json(level: .info, component: "access", pid: pid, message: "request", fields: fields, time: time)
            : Log.format(level: .info, component: "access", pid: pid, message: "request", fields: fields, time: time)
        buffer += Array(line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 64 * 1024 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
                if n <= 0 { break }
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() {
        flush()
        timer?.close()
        Glibc.close(fd)
    }
}
