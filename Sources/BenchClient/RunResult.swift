import Foundation
import Histogram

/// Latency percentiles in milliseconds.
public struct LatencySummary: Codable, Sendable {
    public var p50: Double, p90: Double, p95: Double, p99: Double, p999: Double, max: Double, mean: Double

    init(_ h: Histogram<UInt64>) {
        func ms(_ us: UInt64) -> Double { Double(us) / 1000 }
        let empty = h.totalCount == 0
        p50 = empty ? 0 : ms(h.valueAtPercentile(50))
        p90 = empty ? 0 : ms(h.valueAtPercentile(90))
        p95 = empty ? 0 : ms(h.valueAtPercentile(95))
        p99 = empty ? 0 : ms(h.valueAtPercentile(99))
        p999 = empty ? 0 : ms(h.valueAtPercentile(99.9))
        max = empty ? 0 : ms(h.max)
        mean = empty ? 0 : h.mean / 1000
    }
}

/// Everything one run measured; written by `--json`, read by `chart`.
public struct RunResult: Codable, Sendable {
    public var label: String
    public var url: String
    public var mode: String
    public var era: String
    /// Each connection had its own MCP session (2025-11-25 initialize).
    public var session: Bool
    public var connections: Int
    public var threads: Int
    public var targetRate: Double?
    public var durationSeconds: Double
    public var warmupSeconds: Double
    public var tool: String
    public var argumentBytes: Int
    public var newConnectionPerRequest: Bool
    public var sourceAddresses: [String]
    /// Answers checked and good in the measured window.
    public var ok: Int
    public var errors: Int
    public var errorsByKind: [String: Int]
    /// The first answer (or failure) of each kind, cut to 300 bytes.
    public var errorSamples: [String: String]
    /// Good answers per second of the measured window.
    public var achievedRate: Double
    public var latencyMs: LatencySummary
    public var sessionsOpened: Int
    public var sessionsHeld: Int?
    public var setupErrors: Int
    public var setupSeconds: Double
    public var connectionsOpened: Int
    public var intervals: [IntervalStats]
    /// Filled in by the bench scripts: server CPU seconds, RSS, requests per CPU-second.
    public var server: [String: Double]?
}

extension RunResult {
    /// The human summary printed at the end of a run.
    public var text: String {
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        var s = "\(label) \(mode) loop, \(connections) connections"
        if let r = targetRate { s += ", target \(Int(r)) req/s" }
        let sessions = era == "2026-07-28" ? "stateless" : (session ? "a session each" : "no session")
        s += ", \(era) \(sessions), \(tool) (\(argumentBytes) B args)"
        if newConnectionPerRequest { s += ", new connection per request" }
        s += "\n  requests ok \(ok) in \(f(durationSeconds)) s = \(Int(achievedRate.rounded())) req/s, errors \(errors)"
        if let held = sessionsHeld { s += ", sessions held \(held)" }
        s += "\n  latency ms  p50 \(f(latencyMs.p50))  p90 \(f(latencyMs.p90))  p95 \(f(latencyMs.p95))"
        s += "  p99 \(f(latencyMs.p99))  p99.9 \(f(latencyMs.p999))  max \(f(latencyMs.max))"
        s += "\n  sessions opened \(sessionsOpened) in \(f(setupSeconds)) s, set-up errors \(setupErrors)"
        s += ", connections opened \(connectionsOpened)"
        if let sv = server {
            s += "\n  server CPU \(f(sv["cpuSeconds"] ?? 0)) s (\(f(sv["cpuCores"] ?? 0)) cores)"
            s += ", \(Int((sv["requestsPerCPUSecond"] ?? 0).rounded())) req per CPU-second"
            s += ", RSS \(Int(sv["rssKiB"] ?? 0) / 1024) MiB in \(Int(sv["processes"] ?? 0)) processes"
            if let g = sv["generatorCores"] { s += "\n  load generator CPU \(f(g)) cores (same machine)" }
        }
        for (k, v) in errorsByKind.sorted(by: { $0.value > $1.value }) {
            let sample = errorSamples[k].map { $0.replacingOccurrences(of: "\r\n", with: " | ") } ?? ""
            s += "\n  error \(k): \(v)  e.g. \(sample)"
        }
        return s
    }
}
