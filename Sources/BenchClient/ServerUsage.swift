import Foundation

/// CPU time and memory of the server under test, read from /proc for a process and all its
/// descendants (a supervisor with fronts and executors, nginx workers, uvicorn workers).
public struct ServerUsage: Sendable {
    public var cpuTicks: Int = 0
    public var rssKiB: Int = 0
    public var processes: Int = 0

    /// Clock ticks per second of /proc/<pid>/stat's utime and stime.
    public static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Sums over the trees rooted at `roots`.
    public static func sample(_ roots: [Int32]) -> ServerUsage {
        var parent: [Int32: Int32] = [:]
        var stats: [Int32: (ticks: Int, rss: Int)] = [:]
        let pageKiB = Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after "(comm)": state ppid ... utime(14) stime(15) ... rss(24), numbered from 1.
            let f = stat[stat.index(after: close)...].split(separator: " ")
            guard f.count > 22, let ppid = Int32(f[1]), let ut = Int(f[11]), let st = Int(f[12]),
                  let rss = Int(f[21]) else { continue }
            parent[pid] = ppid
            stats[pid] = (ut + st, rss * pageKiB)
        }
        var u = ServerUsage()
        for (pid, s) in stats {
            var p: Int32? = pid
            var hops = 0
            while let q = p, hops < 64 {
                if roots.contains(q) { u.cpuTicks += s.ticks; u.rssKiB += s.rss; u.processes += 1; break }
                p = parent[q]; hops += 1
                if p == 0 || p == 1 { break }
            }
        }
        return u
    }
}
