import CMetrics
import Glibc
import MCPCore

/// One process's metrics: a fixed-layout block of 64-bit words, normally a `MAP_SHARED`
/// mapping of `<run-dir>/metrics/<role>-<index>-<pid>.shm` so any front can read it.
///
/// Layout (all words little-endian `UInt64`, 8-byte aligned):
///
///     header      64 words: magic, schema hash, pid, start ticks, index, seq, created ns, role (4 words)
///     names       per DynamicLabel, `capacity` entries of 8 words: byte length (0 = free), 56 name bytes
///     values      `Schema.valueWords` words at `Schema.offsets[family]`
///
/// The magic is written last (release), so a reader never sees a half-initialised header.
/// Ownership: the region unmaps its memory in `deinit`; handles into it must not outlive it
/// (the process-wide region is never released).
/// Thread: writes through handles from any thread; `slot(_:named:)` takes a lock.
public final class MetricsRegion: @unchecked Sendable {
    static let magic: UInt64 = 0x3143_5254_454d_5953  // "SYMETRC1"
    static let headerWords = 64
    static let nameEntryWords = 8

    enum Header: Int {
        case magic = 0, schemaHash, pid, startTicks, index, seq, createdNs, role
    }

    /// The file, or nil for an anonymous (process-local) region.
    public let path: String?
    let words: UnsafeMutablePointer<UInt64>
    let byteCount: Int
    /// Slots already looked up or assigned, per dimension; the lock serialises assignment.
    private let slotCache = Locked<[[String: Int]]>(Array(repeating: [:], count: DynamicLabel.allCases.count))

    /// Bytes of a region of the current schema.
    public static var size: Int {
        let names = DynamicLabel.allCases.reduce(0) { $0 + $1.capacity } * nameEntryWords
        return (headerWords + names + Schema.valueWords) * 8
    }

    static func nameTableOffset(_ d: DynamicLabel) -> Int {
        headerWords + DynamicLabel.allCases.prefix(d.rawValue).reduce(0) { $0 + $1.capacity } * nameEntryWords
    }
    static let valuesOffset = headerWords + DynamicLabel.allCases.reduce(0) { $0 + $1.capacity } * nameEntryWords

    private init(path: String?, words: UnsafeMutablePointer<UInt64>, byteCount: Int) {
        self.path = path
        self.words = words
        self.byteCount = byteCount
    }

    deinit {
        munmap(words, byteCount)
    }

    /// Creates this process's region file in `directory` (created 0700 when missing) and
    /// initialises its header. The file name is `<role>-<index>-<pid>.shm`.
    public static func create(directory: String, role: String, index: Int) throws -> MetricsRegion {
        _ = mkdir(directory, 0o700)
        let pid = getpid()
        let path = "\(directory)/\(role)-\(index)-\(pid).shm"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MetricsError.system("open \(path)", errno) }
        defer { close(fd) }
        let region = try map(fd: fd, path: path, writable: true, truncateTo: size)
        region.initialise(role: role, index: index, pid: UInt64(pid),
                          startTicks: ProcStat.read(pid: pid)?.startTicks ?? 0)
        return region
    }

    /// A region in anonymous memory: handles work, nobody else sees the numbers. Used before
    /// `Metrics.install` and in processes started without a run directory.
    public static func anonymous(role: String = "local", index: Int = 0) -> MetricsRegion {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(p != MAP_FAILED && p != nil, "metrics: mmap of \(size) bytes failed")
        let region = MetricsRegion(path: nil, words: p!.assumingMemoryBound(to: UInt64.self), byteCount: size)
        region.initialise(role: role, index: index, pid: UInt64(getpid()), startTicks: 0)
        return region
    }

    /// Maps an existing region for reading (or, for `retired.shm`, writing). Nil when the file
    /// is gone, too small, not yet initialised or of another schema.
    static func open(path: String, writable: Bool) -> MetricsRegion? {
        let fd = Glibc.open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let region = try? map(fd: fd, path: path, writable: writable, truncateTo: nil) else { return nil }
        guard sy_metric_load_acquire(region.words) == magic,
              sy_metric_load(region.words + Header.schemaHash.rawValue) == Schema.hash else { return nil }
        return region
    }

    /// Maps `<directory>/retired.shm`, creating it when missing. Caller holds the fold lock.
    static func openRetired(directory: String) -> MetricsRegion? {
        let path = directory + "/retired.shm"
        if let r = open(path: path, writable: true) { return r }
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let region = try? map(fd: fd, path: path, writable: true, truncateTo: size) else { return nil }
        // A file of another schema is reset: its numbers cannot be interpreted anyway.
        memset(region.words, 0, region.byteCount)
        region.initialise(role: "retired", index: 0, pid: 0, startTicks: 0)
        return region
    }

    private static func map(fd: Int32, path: String, writable: Bool, truncateTo: Int?) throws -> MetricsRegion {
        if let n = truncateTo {
            guard ftruncate(fd, off_t(n)) == 0 else { throw MetricsError.system("ftruncate \(path)", errno) }
        } else {
            var st = stat()
            guard fstat(fd, &st) == 0, Int(st.st_size) == size else { throw MetricsError.badRegion(path) }
        }
        let prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        let p = mmap(nil, size, prot, MAP_SHARED, fd, 0)
        guard p != MAP_FAILED, let p else { throw MetricsError.system("mmap \(path)", errno) }
        return MetricsRegion(path: path, words: p.assumingMemoryBound(to: UInt64.self), byteCount: size)
    }

    private func initialise(role: String, index: Int, pid: UInt64, startTicks: UInt64) {
        header(.schemaHash, Schema.hash)
        header(.pid, pid)
        header(.startTicks, startTicks)
        header(.index, UInt64(index))
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        header(.createdNs, UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
        let roleBytes = Array(role.utf8.prefix(31))
        let roleBase = UnsafeMutableRawPointer(words + Header.role.rawValue)
        roleBase.initializeMemory(as: UInt8.self, repeating: 0, count: 32)
        roleBase.copyMemory(from: roleBytes, byteCount: roleBytes.count)
        for d in DynamicLabel.allCases where storedName(d, slot: d.capacity - 1) == nil {
            writeName(DynamicLabel.overflowName, d, slot: d.capacity - 1)
        }
        sy_metric_store_release(words, Self.magic)
    }

    private func header(_ h: Header, _ v: UInt64) { sy_metric_store(words + h.rawValue, v) }

    // MARK: identity

    public var pid: Int32 { Int32(truncatingIfNeeded: sy_metric_load(words + Header.pid.rawValue)) }
    var startTicks: UInt64 { sy_metric_load(words + Header.startTicks.rawValue) }
    public var index: Int { Int(sy_metric_load(words + Header.index.rawValue)) }
    public var role: String {
        let raw = UnsafeRawPointer(words + Header.role.rawValue).assumingMemoryBound(to: UInt8.self)
        let n = (0..<32).first { raw[$0] == 0 } ?? 32
        return String(decoding: UnsafeBufferPointer(start: raw, count: n), as: UTF8.self)
    }
    /// `<role>-<index>`, the value of the `process` label.
    public var processName: String { "\(role)-\(index)" }
    var seqPointer: UnsafeMutablePointer<UInt64> { words + Header.seq.rawValue }

    // MARK: values

    /// First word of a family's series `series` (row-major over its dimensions).
    @inline(__always)
    func pointer(_ id: MetricID, series: Int) -> UnsafeMutablePointer<UInt64> {
        words + Self.valuesOffset + Schema.offsets[id.rawValue] + series * id.descriptor.stride
    }

    /// First word of a family.
    func familyBase(_ id: MetricID) -> UnsafeMutablePointer<UInt64> {
        words + Self.valuesOffset + Schema.offsets[id.rawValue]
    }

    // MARK: dynamic label names

    /// The slot of `name` in dimension `d`, assigned on first use; `other` when the table is
    /// full. Thread: any (locks); call once per name and keep the result.
    public func slot(_ d: DynamicLabel, named name: String) -> Int {
        let name = Self.truncated(name)
        return slotCache.withLock { cache in
            if let s = cache[d.rawValue][name] { return s }
            var free: Int?
            for s in 0..<(d.capacity - 1) {
                guard let stored = storedName(d, slot: s) else {
                    if free == nil { free = s }
                    continue
                }
                if stored == name {
                    cache[d.rawValue][name] = s
                    return s
                }
            }
            if name == DynamicLabel.overflowName || free == nil { return d.capacity - 1 }
            writeName(name, d, slot: free!)
            cache[d.rawValue][name] = free!
            return free!
        }
    }

    /// Names in use in dimension `d`, by slot.
    func names(_ d: DynamicLabel) -> [(slot: Int, name: String)] {
        (0..<d.capacity).compactMap { s in storedName(d, slot: s).map { (s, $0) } }
    }

    private func entry(_ d: DynamicLabel, _ slot: Int) -> UnsafeMutablePointer<UInt64> {
        words + Self.nameTableOffset(d) + slot * Self.nameEntryWords
    }

    func storedName(_ d: DynamicLabel, slot: Int) -> String? {
        let e = entry(d, slot)
        let n = Int(sy_metric_load_acquire(e))
        guard n > 0, n <= DynamicLabel.maxNameBytes else { return nil }
        let bytes = UnsafeRawPointer(e + 1).assumingMemoryBound(to: UInt8.self)
        return String(decoding: UnsafeBufferPointer(start: bytes, count: n), as: UTF8.self)
    }

    private func writeName(_ name: String, _ d: DynamicLabel, slot: Int) {
        let e = entry(d, slot)
        let bytes = Array(name.utf8)
        UnsafeMutableRawPointer(e + 1).copyMemory(from: bytes, byteCount: bytes.count)
        sy_metric_store_release(e, UInt64(bytes.count))
    }

    static func truncated(_ name: String) -> String {
        var bytes = Array(name.utf8)
        if bytes.isEmpty { return DynamicLabel.overflowName }
        guard bytes.count > DynamicLabel.maxNameBytes else { return name }
        bytes.removeLast(bytes.count - DynamicLabel.maxNameBytes)
        // Drop a partial UTF-8 sequence at the end.
        var i = bytes.count - 1
        while i > 0 && bytes[i] & 0xC0 == 0x80 { i -= 1 }
        let lead = bytes[i]
        let need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        if bytes.count - i < need { bytes.removeLast(bytes.count - i) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Errors creating a region.
public enum MetricsError: Error, CustomStringConvertible {
    case system(String, Int32)
    case badRegion(String)

    public var description: String {
        switch self {
        case .system(let what, let e): return "\(what): \(String(cString: strerror(e)))"
        case .badRegion(let p): return "not a metrics region of this schema: \(p)"
        }
    }
}
