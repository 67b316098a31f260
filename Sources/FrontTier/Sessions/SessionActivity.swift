import CSupport
import Glibc
import MCPCore

/// When each session was last used, shared by every front of a server so a session expires
/// after `idleTimeout` of silence wherever it was used: an open-addressing table of
/// (token hash, last-seen second) pairs in a shared-memory file of the run directory
/// (`sessions.activity`, 16 MiB sparse). One atomic store per request, and only when the
/// second changed. A table full around a key evicts the stalest entry of its probe window.
/// Thread: the loop thread of each front (entries are atomics; fronts race benignly).
final class SessionActivity {
    static let slots = 1 << 20
    static let probe = 8
    private let table: UnsafeMutablePointer<UInt64>?
    /// Without a run directory: this process only.
    private var local: [UInt64: UInt64] = [:]

    init(runDir: String?) {
        guard let runDir else { table = nil; return }
        let bytes = SessionActivity.slots * 16
        let fd = open(runDir + "/sessions.activity", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { table = nil; return }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0 && st.st_size < bytes { _ = ftruncate(fd, off_t(bytes)) }
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        table = (p == MAP_FAILED || p == nil) ? nil : p!.assumingMemoryBound(to: UInt64.self)
    }

    deinit { if let table { munmap(table, SessionActivity.slots * 16) } }

    /// FNV-1a of a token (never 0, which marks an empty slot).
    static func key(_ token: String) -> UInt64 {
        let h = FNV1a.hash(token)
        return h == 0 ? 1 : h
    }

    /// Records a use of the session at `now` (seconds). True when this stored a new second (the
    /// first use of that second by any front of this host): what other hosts are told of.
    @discardableResult
    func touch(_ key: UInt64, now: UInt64) -> Bool {
        guard let t = table else { return local.updateValue(now, forKey: key) != now }
        let start = Int(key & UInt64(SessionActivity.slots - 1))
        var stalest = start, stalestSeen = UInt64.max
        for i in 0..<SessionActivity.probe {
            let s = (start + i) & (SessionActivity.slots - 1)
            let k = t + 2 * s
            let seen = k + 1
            let current = sy_atomic_load_u64(k)
            if current == key {
                guard sy_atomic_load_u64(seen) != now else { return false }
                sy_atomic_store_u64(seen, now)
                return true
            }
            if current == 0 {
                if sy_atomic_cas_u64(k, 0, key) != 0 { sy_atomic_store_u64(seen, now); return true }
                if sy_atomic_load_u64(k) == key { sy_atomic_store_u64(seen, now); return true }
                continue
            }
            let v = sy_atomic_load_u64(seen)
            if v < stalestSeen { stalestSeen = v; stalest = s }
        }
        let k = t + 2 * stalest
        sy_atomic_store_u64(k + 1, now)
        sy_atomic_store_u64(k, key)
        return true
    }

    /// The last recorded use, if the table still holds the session.
    func lastSeen(_ key: UInt64) -> UInt64? {
        guard let t = table else { return local[key] }
        let start = Int(key & UInt64(SessionActivity.slots - 1))
        for i in 0..<SessionActivity.probe {
            let s = (start + i) & (SessionActivity.slots - 1)
            if sy_atomic_load_u64(t + 2 * s) == key { return sy_atomic_load_u64(t + 2 * s + 1) }
        }
        return nil
    }

    /// Forgets a session's local entry (the shared table evicts on its own).
    func forget(_ key: UInt64) {
        if table == nil { local[key] = nil }
    }

    /// How many local entries are held (for tests).
    var localCount: Int { local.count }

    /// Forgets local entries older than `cutoff` (the shared table needs no sweeping: stale
    /// entries are what eviction takes first).
    func sweep(olderThan cutoff: UInt64) {
        if table == nil { local = local.filter { $0.value >= cutoff } }
    }
}
