import CRateLimit
import Glibc
import MCPCore

/// Token buckets per (principal or source address) × tool, shared by every front of a server:
/// the table lives in `<run-dir>/ratelimits`, mapped `MAP_SHARED` by each front, and updated
/// lock-free (CSupport/ratelimit). Time is CLOCK_MONOTONIC, the same in every process.
///
/// Ownership: the limiter unmaps the table in `deinit`; the file stays for the other fronts
/// (the run directory's owner removes it).
/// Thread: `check` from any thread of any process.
public final class RateLimiter: @unchecked Sendable {
    public let rules: RateLimits
    /// The shared file, or nil for a process-local table.
    public let path: String?
    private let base: UnsafeMutableRawPointer
    private let byteCount: Int
    private let seed: UInt64

    /// Maps the table at `path`, creating it when missing. Creation is atomic: the first
    /// process builds it in a private temporary file and `link(2)`s it into place, so no
    /// process ever maps a half-initialised table; a process that loses the race maps the
    /// winner's. `slots` only matters to the creator (a power of two, at least 16).
    public init(path: String, rules: RateLimits, slots: Int = Int(SY_RL_DEFAULT_SLOTS)) throws {
        self.rules = rules
        self.path = path
        var fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            try Self.create(path: path, slots: slots)
            fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        }
        guard fd >= 0 else { throw RateLimiterError.system("open \(path)", errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RateLimiterError.system("fstat \(path)", errno) }
        let size = Int(st.st_size)
        guard size > MemoryLayout<sy_rl_header_t>.size else { throw RateLimiterError.notATable(path) }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard p != MAP_FAILED, let p else { throw RateLimiterError.system("mmap \(path)", errno) }
        guard sy_rl_validate(p, size) == 0 else {
            munmap(p, size)
            throw RateLimiterError.notATable(path)
        }
        base = p
        byteCount = size
        seed = sy_rl_seed(p)
    }

    /// A table in anonymous memory, seen by this process only (a front without a run
    /// directory, tests).
    public init(rules: RateLimits, slots: Int = Int(SY_RL_DEFAULT_SLOTS)) {
        self.rules = rules
        path = nil
        byteCount = sy_rl_size(UInt64(slots))
        let p = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(p != MAP_FAILED && p != nil, "rate limits: mmap of \(byteCount) bytes failed")
        seed = UInt64.random(in: 1...UInt64.max)
        precondition(sy_rl_init(p, UInt64(slots), seed) == 0, "rate limits: slots must be a power of two >= 16")
        base = p!
    }

    deinit {
        munmap(base, byteCount)
    }

    /// Builds a table in `<path>.<pid>.tmp` and links it to `path`; losing the race (EEXIST) is fine.
    private static func create(path: String, slots: Int) throws {
        let size = sy_rl_size(UInt64(slots))
        let temp = "\(path).\(getpid()).tmp"
        let fd = Glibc.open(temp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RateLimiterError.system("open \(temp)", errno) }
        defer { close(fd); unlink(temp) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw RateLimiterError.system("ftruncate \(temp)", errno) }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard p != MAP_FAILED, let p else { throw RateLimiterError.system("mmap \(temp)", errno) }
        defer { munmap(p, size) }
        guard sy_rl_init(p, UInt64(slots), UInt64.random(in: 1...UInt64.max)) == 0 else {
            throw RateLimiterError.badSlots(slots)
        }
        guard link(temp, path) == 0 || errno == EEXIST else { throw RateLimiterError.system("link \(path)", errno) }
    }

    /// CLOCK_MONOTONIC in nanoseconds: the clock `check` expects.
    public static func now() -> UInt64 { sy_rl_now() }

    /// Takes one token from `key`'s bucket for `tool`, if a rule covers the tool.
    @inline(__always)
    public func check(key: RateLimitKey, tool: String, now: UInt64 = RateLimiter.now()) -> RateLimitDecision {
        guard let rule = rules.rule(for: tool) else { return .allowed }
        return take(bucket: bucketHash(key: key, tool: tool), rule: rule, now: now)
    }

    /// Takes one token from the bucket `hash` under `rule` (for callers that hash once).
    public func take(bucket hash: UInt64, rule: RateLimitRule, now: UInt64) -> RateLimitDecision {
        var wait: UInt64 = 0
        if sy_rl_take(base, hash, now, rule.intervalNanoseconds, UInt64(rule.burst), &wait) == 1 { return .allowed }
        let seconds = (wait + 999_999_999) / 1_000_000_000
        return .limited(retryAfterSeconds: max(1, Int(seconds)))
    }

    /// The bucket of (key, tool): FNV-1a over both, seeded with the table's random seed (so a
    /// client cannot aim keys at one probe window), then a murmur-style finaliser so the low
    /// bits that pick the slot depend on every byte.
    public func bucketHash(key: RateLimitKey, tool: String) -> UInt64 {
        var h = FNV1a.hash(key.text, from: FNV1a.basis ^ seed)
        h = (h ^ 0xFF) &* FNV1a.prime  // a separator no UTF-8 text contains
        h = FNV1a.hash(tool, from: h)
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// Checks allowed because the key's probe window was held by other live buckets.
    public var fullCount: UInt64 { sy_rl_full_count(base) }
    /// Stale buckets taken over by other keys.
    public var reclaimedCount: UInt64 { sy_rl_reclaimed_count(base) }
    /// Buckets not yet refilled at `now` (a scan of the table).
    public func liveBuckets(now: UInt64 = RateLimiter.now()) -> Int { Int(sy_rl_live(base, now)) }
}

/// Errors mapping the shared table.
public enum RateLimiterError: Error, CustomStringConvertible {
    case system(String, Int32)
    case notATable(String)
    case badSlots(Int)

    public var description: String {
        switch self {
        case .system(let what, let e): return "\(what): \(String(cString: strerror(e)))"
        case .notATable(let p): return "not a rate-limit table of this version: \(p)"
        case .badSlots(let n): return "rate-limit slots must be a power of two of at least 16, got \(n)"
        }
    }
}
