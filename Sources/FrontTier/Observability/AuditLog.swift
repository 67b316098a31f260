import EventLoop
import Glibc
import Security

/// The audit log (`--audit-log FILE`): one hash-chained JSON line per decision (see
/// `AuditChain` for why each front keeps a chain of its own in the shared file).
///
/// Off the hot path: `record` only appends the record to a list; encoding, hashing and one
/// `write(2)` of the whole batch happen once per loop turn (`Loop.runAtEndOfTurn`). The file
/// is opened `O_APPEND`, so a batch lands whole between other fronts' batches.
/// SIGUSR1 (forwarded by the supervisor) calls `reopen()`: after a rotation (`mv` the file,
/// then signal) the next line goes to a new file at the same path, marked `"start":"reopen"`.
///
/// Ownership: the descriptor is the log's, closed by `reopen()` (the old one) and `close()`.
/// Thread: the loop thread.
public final class AuditLog {
    public let path: String
    /// The key of `ArgumentsDigest`s in this server's audit lines (derived from the session
    /// key every front shares, so equal arguments correlate across fronts).
    public let argumentsKey: [UInt8]
    private var fd: Int32
    private var chain: AuditChain
    private var pending: [AuditRecord] = []
    private var buffer: [UInt8] = []
    private var flushScheduled = false
    private let schedule: (@escaping () -> Void) -> Void
    /// Batches `write(2)` refused (disk full, I/O error); their lines are lost, which
    /// `audit verify` will report as deleted.
    public private(set) var failedWrites = 0

    /// Opens (creates, 0600) `path` for appending. `schedule` runs the flush later in this
    /// loop turn; tests pass one that runs nothing and call `flush()` themselves.
    public init(path: String, front: Int, argumentsKey: [UInt8],
                schedule: @escaping (@escaping () -> Void) -> Void) throws {
        self.path = path
        self.argumentsKey = argumentsKey
        self.schedule = schedule
        chain = AuditChain(front: front)
        fd = try Self.open(path)
        buffer.reserveCapacity(16 * 1024)
    }

    public convenience init(path: String, front: Int, argumentsKey: [UInt8], loop: Loop) throws {
        try self.init(path: path, front: front, argumentsKey: argumentsKey,
                      schedule: { [unowned loop] work in loop.runAtEndOfTurn(work) })
    }

    private static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditLogError(path: path, errno: errno) }
        return fd
    }

    /// Queues one record for this turn's batch.
    public func record(_ record: AuditRecord) {
        pending.append(record)
        guard !flushScheduled else { return }
        flushScheduled = true
        schedule { [weak self] in self?.flush() }
    }

    /// Encodes the queued records into chained lines and appends them in one write.
    public func flush() {
        flushScheduled = false
        guard !pending.isEmpty, fd >= 0 else { return }
        for r in pending { chain.append(r, to: &buffer) }
        pending.removeAll(keepingCapacity: true)
        let complete = buffer.withUnsafeBytes { b -> Bool in
            var off = 0
            while off < b.count {
                let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                off += n
            }
            return true
        }
        if !complete { failedWrites += 1 }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is queued to the current file, then opens `path` afresh (log rotation).
    /// When the new open fails the old descriptor is kept, so nothing is lost.
    public func reopen() throws {
        flush()
        let fresh = try Self.open(path)
        Glibc.close(fd)
        fd = fresh
        chain.reopened()
    }

    /// Writes what is queued and closes the file; later records are dropped.
    public func close() {
        flush()
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// The audit log's file could not be opened; names the path, never a record.
public struct AuditLogError: Error, CustomStringConvertible {
    public let path: String
    public let errno: Int32
    public var description: String { "audit log \(path): \(String(cString: strerror(errno)))" }
}
