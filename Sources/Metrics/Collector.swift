import CMetrics
import Glibc

/// Reads every region in `<run-dir>/metrics/` and aggregates them into a `MetricsSnapshot`.
///
/// - Live processes (`/proc/<pid>/stat` exists, not a zombie, same start time as the region
///   records) contribute everything. Their CPU time, RSS and start time are read from
///   `/proc/<pid>/stat` here, at scrape time, so no process samples anything.
/// - Regions of dead processes still contribute their counters and histograms to `.sum`
///   families (their final values), never their gauges; after the snapshot the collector
///   folds them into `retired.shm` and deletes them. So server-wide totals never go
///   backwards when a worker restarts, while `.perProcess` series (labelled `process`)
///   restart from zero with the new process, which Prometheus treats as a counter reset.
/// - Folding holds an exclusive `flock` on `retired.lock` and makes the retired region's
///   sequence odd while it moves numbers; a reader retries when the sequence changed during
///   its read, so a scrape never counts a folded region twice or not at all.
///
/// Thread: one collector per thread; any front may collect while others do.
public final class MetricsCollector {
    public let directory: String
    /// Fold regions of dead processes after each snapshot (off only in tests).
    public var foldsDeadRegions = true

    public init(directory: String) {
        self.directory = directory
    }

    /// Convenience: the collector for a server's run directory.
    public convenience init(runDir: String) {
        self.init(directory: Metrics.directory(runDir: runDir))
    }

    /// One aggregated reading of every region.
    public func snapshot() -> MetricsSnapshot {
        var result: (Accumulator, [String])!
        for attempt in 0..<8 {
            let retired = MetricsRegion.open(path: directory + "/retired.shm", writable: false)
            let s1 = retired.map { sy_metric_load_acquire($0.seqPointer) } ?? 0
            if s1 & 1 == 1 && attempt < 7 {
                usleep(1000)
                continue
            }
            result = read(retired: retired)
            sy_metric_fence_acquire()
            let s2 = retired.map { sy_metric_load_acquire($0.seqPointer) } ?? 0
            // A fold that created retired.shm during the read also shows up as a change.
            let retiredNow = retired != nil || access(directory + "/retired.shm", F_OK) != 0
            if s1 == s2 && retiredNow { break }
        }
        let (acc, dead) = result
        if foldsDeadRegions {
            for path in dead { fold(path) }
        }
        return acc.snapshot()
    }

    private func regionPaths() -> [String] {
        guard let d = opendir(directory) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name.hasSuffix(".shm") && name != "retired.shm" { out.append(directory + "/" + name) }
        }
        return out.sorted()
    }

    private func read(retired: MetricsRegion?) -> (Accumulator, [String]) {
        var acc = Accumulator()
        var dead: [String] = []
        if let retired { acc.add(retired, live: false, processName: nil) }
        for path in regionPaths() {
            guard let r = MetricsRegion.open(path: path, writable: false) else { continue }
            if let st = ProcStat.isAlive(pid: r.pid, startTicks: r.startTicks) {
                acc.add(r, live: true, processName: r.processName)
                acc.processes.append(ProcessSnapshot(
                    name: r.processName, role: r.role, index: r.index, pid: r.pid, cpuSeconds: st.cpuSeconds,
                    residentBytes: st.residentBytes, startTime: st.startTimeSeconds))
            } else {
                acc.add(r, live: false, processName: nil)
                dead.append(path)
            }
        }
        return (acc, dead)
    }

    /// Moves a dead process's counters and histograms into `retired.shm` and deletes its file.
    func fold(_ path: String) {
        let lockFD = open(directory + "/retired.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { return }
        defer { close(lockFD) }  // also releases the flock
        guard flock(lockFD, LOCK_EX) == 0 else { return }
        // Another reader may have folded it while we waited.
        guard access(path, F_OK) == 0 else { return }
        guard let deadRegion = MetricsRegion.open(path: path, writable: false) else {
            unlink(path)  // another schema, or never initialised: nothing to keep
            return
        }
        guard ProcStat.isAlive(pid: deadRegion.pid, startTicks: deadRegion.startTicks) == nil,
              let retired = MetricsRegion.openRetired(directory: directory) else { return }
        let seq = retired.seqPointer
        if sy_metric_load(seq) & 1 == 0 { sy_metric_add(seq, 1) }
        for f in Schema.families where f.aggregation == .sum && f.type != .gauge {
            for (position, _) in seriesOf(f, in: deadRegion) {
                let from = deadRegion.pointer(f.id, series: position.flat)
                let toFlat = retiredPosition(f, position, deadRegion: deadRegion, retired: retired)
                let to = retired.pointer(f.id, series: toFlat)
                for w in 0..<f.stride {
                    let v = sy_metric_load(from + w)
                    if v != 0 { sy_metric_add(to + w, v) }
                }
            }
        }
        unlink(path)
        sy_metric_add(seq, 1)
    }

    private func retiredPosition(_ f: FamilyDescriptor, _ p: SeriesPosition, deadRegion: MetricsRegion,
                                 retired: MetricsRegion) -> Int {
        var idx = p.indexes
        for (k, d) in f.dimensions.enumerated() {
            if case .dynamic(let dl) = d.values, let name = deadRegion.storedName(dl, slot: idx[k]) {
                idx[k] = retired.slot(dl, named: name)
            }
        }
        return SeriesPosition(indexes: idx, family: f).flat
    }
}

/// Where a series lies in its family: one index per dimension.
struct SeriesPosition {
    var indexes: [Int]
    var flat: Int

    init(indexes: [Int], family f: FamilyDescriptor) {
        self.indexes = indexes
        var flat = 0
        for (k, d) in f.dimensions.enumerated() { flat = flat * d.count + indexes[k] }
        self.flat = flat
    }
}

/// The series of `f` present in `r`: every fixed value × every used dynamic slot, with
/// their label values.
func seriesOf(_ f: FamilyDescriptor, in r: MetricsRegion) -> [(SeriesPosition, [String])] {
    var combos: [([Int], [String])] = [([], [])]
    for d in f.dimensions {
        let choices: [(Int, String)]
        switch d.values {
        case .fixed(let v): choices = Array(v.enumerated())
        case .dynamic(let dl): choices = r.names(dl).map { ($0.slot, $0.name) }
        }
        combos = combos.flatMap { c in choices.map { (c.0 + [$0.0], c.1 + [$0.1]) } }
    }
    return combos.map { (SeriesPosition(indexes: $0.0, family: f), $0.1) }
}

/// Sums raw words per (family, labels) over regions.
struct Accumulator {
    struct Key: Hashable {
        var labels: [Label]
    }
    /// Per family (schema order): raw words per series key, in first-seen order.
    var raw: [[Key: [UInt64]]] = Array(repeating: [:], count: Schema.families.count)
    var processes: [ProcessSnapshot] = []

    /// Adds a region. `live`: a running process (gauges count); `processName` nil for retired
    /// and dead regions, which contribute to `.sum` counters and histograms only.
    mutating func add(_ r: MetricsRegion, live: Bool, processName: String?) {
        for f in Schema.families {
            if !live && (f.type == .gauge || f.aggregation == .perProcess) { continue }
            let hasDynamic = f.dimensions.contains {
                if case .dynamic = $0.values { return true } else { return false }
            }
            for (position, values) in seriesOf(f, in: r) {
                let p = r.pointer(f.id, series: position.flat)
                var words = [UInt64](repeating: 0, count: f.stride)
                var nonZero = false
                for w in 0..<f.stride {
                    words[w] = sy_metric_load(p + w)
                    if words[w] != 0 { nonZero = true }
                }
                // Fixed-label series appear once non-zero; named slots (a tool, a worker) as
                // soon as the name is known, so their zeros are visible; `other` only when used.
                let isOverflow = values.contains(DynamicLabel.overflowName) && hasDynamic
                if !nonZero && !f.dimensions.isEmpty && (!hasDynamic || isOverflow) { continue }
                var labels: [Label] = []
                if f.aggregation == .perProcess, let processName { labels.append(Label("process", processName)) }
                for (d, v) in zip(f.dimensions, values) { labels.append(Label(d.name, v)) }
                let key = Key(labels: labels)
                if let old = raw[f.id.rawValue][key] {
                    raw[f.id.rawValue][key] = zip(old, words).map { $0 &+ $1 }
                } else {
                    raw[f.id.rawValue][key] = words
                }
            }
        }
    }

    func snapshot() -> MetricsSnapshot {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var families: [FamilySnapshot] = []
        for f in Schema.families {
            let series = raw[f.id.rawValue].sorted { lhs, rhs in
                lhs.key.labels.map(\.value).lexicographicallyPrecedes(rhs.key.labels.map(\.value))
            }
            let samples = series.map { key, words -> Sample in
                switch f.type {
                case .counter:
                    return Sample(labels: key.labels, value: Double(words[0]) / f.scale)
                case .gauge:
                    return Sample(labels: key.labels, value: Double(Int64(bitPattern: words[0])) / f.scale)
                case .histogram:
                    let n = f.buckets.count
                    let h = HistogramValue(bounds: f.buckets, perBucket: Array(words[0...n]),
                                           sum: Double(words[n + 1]) / f.scale)
                    return Sample(labels: key.labels, histogram: h)
                }
            }
            families.append(FamilySnapshot(name: f.name, help: f.help, type: f.type, samples: samples))
        }
        families.append(contentsOf: derivedFamilies(families))
        let procs = processes.sorted { ($0.role, $0.index, $0.pid) < ($1.role, $1.index, $1.pid) }
        families.append(contentsOf: Self.processFamilies(procs))
        return MetricsSnapshot(takenAt: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9, families: families,
                               processes: procs)
    }

    /// `switchyard_sessions_open`: created − deleted per protocol version, over the server's
    /// life (a session is open until deleted; idle sessions are never expired by the server).
    private func derivedFamilies(_ fs: [FamilySnapshot]) -> [FamilySnapshot] {
        let created = fs[MetricID.sessionsCreatedTotal.rawValue].samples
        let deleted = fs[MetricID.sessionsDeletedTotal.rawValue].samples
        var open: [Sample] = []
        for c in created {
            let d = deleted.first { $0.labels == c.labels }?.value ?? 0
            open.append(Sample(labels: c.labels, value: max(0, c.value - d)))
        }
        return [FamilySnapshot(name: "switchyard_sessions_open", help: "Sessions created and not deleted.",
                               type: .gauge, samples: open)]
    }

    static func processFamilies(_ procs: [ProcessSnapshot]) -> [FamilySnapshot] {
        func fam(_ name: String, _ type: MetricType, _ help: String,
                 _ v: (ProcessSnapshot) -> Double) -> FamilySnapshot {
            FamilySnapshot(name: name, help: help, type: type,
                           samples: procs.map { Sample(labels: [Label("process", $0.name)], value: v($0)) })
        }
        return [
            fam("switchyard_process_cpu_seconds_total", .counter, "User and system CPU time of the process.") {
                $0.cpuSeconds
            },
            fam("switchyard_process_resident_memory_bytes", .gauge, "Resident set size of the process.") {
                Double($0.residentBytes)
            },
            fam("switchyard_process_start_time_seconds", .gauge, "Start time of the process, Unix seconds.") {
                $0.startTime
            },
        ]
    }
}
