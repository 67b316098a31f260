import CLibUV
import Foundation
import Histogram

/// Runs one load: starts a worker thread per `threads`, waits for every session to be set
/// up, gives the common start time, prints a progress line each second on stderr and
/// merges what the workers measured.
///
/// Thread: call from the main thread; the workers run on their own threads.
public enum LoadRunner {
    /// Set-up (connect + initialize of every connection) gives up after this long.
    public static let setupLimitSeconds = 120.0

    public static func run(_ config: BenchConfig, progress: Bool = true) throws -> RunResult {
        try config.validate()
        let template = try RequestTemplate(config)
        signal(SIGPIPE, SIG_IGN)
        let shared = SharedProgress()
        let n = config.threads
        for w in 0..<n {
            let lo = config.connections * w / n, hi = config.connections * (w + 1) / n
            let t = Thread {
                let worker = Worker(id: w, config: config, template: template, shared: shared,
                                    connections: lo..<hi, threads: n)
                worker.run()
            }
            t.stackSize = 8 << 20
            t.start()
        }

        let began = uv_hrtime()
        var lastPrint = began
        var lastOK = 0
        var started: UInt64 = 0
        var usageStart: ServerUsage?
        var usageEnd: ServerUsage?
        var usageStartAt: UInt64 = 0, usageEndAt: UInt64 = 0
        // The generator's own CPU over the same window: it shares the cores with the server.
        var ownStart: ServerUsage?, ownEnd: ServerUsage?
        let me = [getpid()]
        while shared.workersFinished.load(ordering: .acquiring) < n {
            usleep(20_000)
            let now = uv_hrtime()
            if started == 0 {
                let ready = shared.setupFinished.load(ordering: .acquiring) == n
                if ready || Double(now - began) / 1e9 > setupLimitSeconds {
                    started = now + 20_000_000
                    shared.startAt.store(started, ordering: .releasing)
                    if progress {
                        let what = config.era == .session ? "sessions" : "connections"
                        let took = String(format: "%.1f", Double(now - began) / 1e9)
                        eprint("set up \(shared.sessions.load(ordering: .relaxed)) of \(config.connections) \(what) "
                               + "in \(took) s; warm-up \(config.warmup) s, then \(config.duration) s measured")
                    }
                }
            }
            // Server CPU over the measured window, sampled from /proc as the window opens and closes.
            if !config.serverPIDs.isEmpty, started != 0 {
                let ws = started + UInt64(config.warmup * 1e9), we = ws + UInt64(config.duration * 1e9)
                if usageStart == nil, now >= ws {
                    usageStart = ServerUsage.sample(config.serverPIDs)
                    ownStart = ServerUsage.sample(me)
                    usageStartAt = now
                }
                if usageEnd == nil, now >= we {
                    usageEnd = ServerUsage.sample(config.serverPIDs); ownEnd = ServerUsage.sample(me); usageEndAt = now
                }
            }
            if progress, now - lastPrint >= 1_000_000_000 {
                let ok = shared.ok.load(ordering: .relaxed)
                let rate = Double(ok - lastOK) / (Double(now - lastPrint) / 1e9)
                let t = started == 0 ? "set-up"
                    : (now < started ? "starting" : String(format: "%5.1fs", Double(now - started) / 1e9))
                eprint("[\(t)] \(Int(rate)) req/s  ok \(ok)  errors \(shared.errors.load(ordering: .relaxed))  "
                       + "sessions \(shared.sessions.load(ordering: .relaxed))")
                lastPrint = now
                lastOK = ok
            }
        }
        var result = merge(shared.results.withLock { $0 }, config: config)
        if usageStart != nil, usageEnd == nil {
            // The workers stopped before -d (--max-requests): the window closes now.
            usageEnd = ServerUsage.sample(config.serverPIDs); ownEnd = ServerUsage.sample(me); usageEndAt = uv_hrtime()
        }
        if let a = usageStart, let b = usageEnd {
            let cpu = Double(b.cpuTicks - a.cpuTicks) / ServerUsage.ticksPerSecond
            let window = Double(usageEndAt - usageStartAt) / 1e9
            result.server = ["cpuSeconds": cpu, "windowSeconds": window, "rssKiB": Double(b.rssKiB),
                             "processes": Double(b.processes),
                             "requestsPerCPUSecond": cpu > 0 ? Double(result.ok) / cpu : 0,
                             "cpuCores": window > 0 ? cpu / window : 0]
            if let c = ownStart, let d = ownEnd, window > 0 {
                result.server?["generatorCores"] = Double(d.cpuTicks - c.cpuTicks) / ServerUsage.ticksPerSecond / window
            }
        }
        return result
    }

    static func merge(_ parts: [WorkerResult], config: BenchConfig) -> RunResult {
        var h = Latency.histogram()
        var ok = 0, sent = 0, opened = 0, held = 0, setupErrors = 0, conns = 0
        var setup = 0.0
        var measured = 0.0
        var kinds: [String: Int] = [:]
        var samples: [String: String] = [:]
        let seconds = parts.map { $0.intervals.count }.max() ?? 0
        var intervals = (0..<seconds).map { _ in Latency.histogram() }
        var intervalErrors = Array(repeating: 0, count: seconds)
        for p in parts {
            h.add(p.histogram)
            ok += p.ok; sent += p.sent; opened += p.sessionsOpened; held += p.sessionsHeld
            setupErrors += p.setupErrors; conns += p.connectionsOpened
            setup = max(setup, p.setupSeconds)
            measured = max(measured, p.measuredSeconds)
            for (k, v) in p.errorsByKind { kinds[k, default: 0] += v }
            for (k, v) in p.errorSamples where samples[k] == nil { samples[k] = v }
            for (i, x) in p.intervals.enumerated() { intervals[i].add(x) }
            for (i, x) in p.intervalErrors.enumerated() { intervalErrors[i] += x }
        }
        let timeline = intervals.enumerated().compactMap { i, x -> IntervalStats? in
            guard x.totalCount > 0 || intervalErrors[i] > 0 else { return nil }
            let empty = x.totalCount == 0
            return IntervalStats(second: i, ok: Int(x.totalCount), errors: intervalErrors[i],
                                 p50Ms: empty ? 0 : Double(x.valueAtPercentile(50)) / 1000,
                                 p99Ms: empty ? 0 : Double(x.valueAtPercentile(99)) / 1000)
        }
        // A run capped by --max-requests ends early; its rate is over the time it took.
        let duration = measured > 0 ? min(measured, config.duration) : config.duration
        let hostPart = config.host.contains(":") ? "[\(config.host)]" : config.host
        return RunResult(
            label: config.label, url: "http://\(hostPart):\(config.port)\(config.path)",
            mode: config.mode.rawValue, era: config.era.rawValue,
            session: config.era == .session && !config.skipInitialize,
            connections: config.connections, threads: config.threads, targetRate: config.rate,
            durationSeconds: duration, warmupSeconds: config.warmup, tool: config.tool,
            argumentBytes: config.arguments.utf8.count,
            newConnectionPerRequest: config.newConnectionPerRequest, sourceAddresses: config.sourceAddresses,
            ok: ok, errors: kinds.values.reduce(0, +), errorsByKind: kinds, errorSamples: samples,
            achievedRate: config.mode == .idle ? 0 : Double(ok) / duration,
            latencyMs: LatencySummary(h), sessionsOpened: opened,
            sessionsHeld: config.mode == .idle ? held : nil, setupErrors: setupErrors, setupSeconds: setup,
            connectionsOpened: conns, intervals: timeline, server: nil)
    }
}

/// One line on stderr.
public func eprint(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}
