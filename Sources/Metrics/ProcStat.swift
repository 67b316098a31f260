import Glibc

/// What `/proc/<pid>/stat` says about a process: liveness, CPU, RSS, start time.
struct ProcStat: Sendable {
    var state: UInt8
    /// User + system CPU, clock ticks.
    var cpuTicks: UInt64
    /// Start time after boot, clock ticks: with the pid, identifies a process across pid reuse.
    var startTicks: UInt64
    var rssPages: UInt64

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    /// Boot time, Unix seconds (`btime` of /proc/stat).
    static let bootTime: Double = {
        guard let text = readSmallFile("/proc/stat") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingSpaces) ?? 0
        }
        return 0
    }()

    var cpuSeconds: Double { Double(cpuTicks) / Self.ticksPerSecond }
    var residentBytes: UInt64 { rssPages * Self.pageSize }
    var startTimeSeconds: Double { Self.bootTime + Double(startTicks) / Self.ticksPerSecond }

    /// Nil when the process does not exist.
    static func read(pid: Int32) -> ProcStat? {
        guard pid > 0, let text = readSmallFile("/proc/\(pid)/stat") else { return nil }
        return parse(text)
    }

    /// Parses a stat line: the command (field 2) may hold spaces and parentheses, so fields
    /// are counted from the last `)`.
    static func parse(_ text: String) -> ProcStat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field k is fields[k - 3].
        func f(_ k: Int) -> UInt64 { k - 3 < fields.count ? UInt64(fields[k - 3]) ?? 0 : 0 }
        guard fields.count >= 22, let s = fields[0].utf8.first else { return nil }
        return ProcStat(state: s, cpuTicks: f(14) + f(15), startTicks: f(22), rssPages: f(24))
    }

    /// Alive: exists, not a zombie, and (when known) started when the region's writer did.
    static func isAlive(pid: Int32, startTicks: UInt64) -> ProcStat? {
        guard let st = read(pid: pid), st.state != UInt8(ascii: "Z"), st.state != UInt8(ascii: "X") else { return nil }
        if startTicks != 0 && st.startTicks != startTicks { return nil }
        return st
    }
}

/// Reads a file of at most 64 KiB (procfs files report size 0, so read until EOF).
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 65536)
    var n = 0
    while n < buf.count {
        let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + n, $0.count - n) }
        if r < 0 && errno == EINTR { continue }
        if r <= 0 { break }
        n += r
    }
    return String(decoding: buf[0..<n], as: UTF8.self)
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
