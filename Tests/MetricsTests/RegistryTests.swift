import Dispatch
import Foundation
@testable import Metrics
import XCTest

/// Regions in one directory stand for the processes of one server: each test makes a fresh
/// directory; "another process" is another region (another role or index) of this one, and a
/// "dead process" a region whose header names a pid that cannot exist.
final class RegistryTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "sy-metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func region(_ role: String, _ index: Int) throws -> MetricsRegion {
        try MetricsRegion.create(directory: dir, role: role, index: index)
    }

    /// Makes a region look like it belongs to a process that has exited.
    func kill(_ r: MetricsRegion) {
        r.words[MetricsRegion.Header.pid.rawValue] = 0x7fff_fff0
    }

    func testTwoProcessesAggregate() throws {
        let a = try region("front", 0)
        let b = try region("front", 1)
        let reqA = a.family(.requestsTotal)
        let reqB = b.family(.requestsTotal)
        let call = LabelIndex.method("tools/call")
        reqA.counter(call, LabelIndex.status(200)).add(5)
        reqB.counter(call, LabelIndex.status(200)).add(7)
        reqB.counter(LabelIndex.method("initialize"), LabelIndex.status(200)).increment()
        a.counter(.requestsTotal, ["tools/call", "404"]).add(2)
        a.gauge(.connections).set(3)
        b.gauge(.connections).set(4)
        b.gauge(.connections).decrement()
        // Tool names take slots in first-use order, differently in each process.
        _ = b.slot(.tool, named: "sha256")
        a.histogram(.toolCallDurationSeconds, ["echo"]).observe(1_000_000)
        b.histogram(.toolCallDurationSeconds, ["echo"]).observe(2_000_000)
        b.histogram(.toolCallDurationSeconds, ["sha256"]).observe(3_000_000)
        a.counter(.workerRestartsTotal, ["executor-0"]).add(1)

        let s = MetricsCollector(directory: dir).snapshot()
        XCTAssertEqual(s.total("switchyard_requests_total"), 15)
        XCTAssertEqual(s.total("switchyard_requests_total", matching: ["method": "tools/call", "status": "200"]), 12)
        XCTAssertEqual(s.total("switchyard_requests_total", matching: ["status": "404"]), 2)
        XCTAssertEqual(s.total("switchyard_connections"), 6)
        XCTAssertEqual(s.total("switchyard_connections", matching: ["process": "front-1"]), 3)
        let echo = try XCTUnwrap(s.histogram("switchyard_tool_call_duration_seconds", matching: ["tool": "echo"]))
        XCTAssertEqual(echo.count, 2)
        XCTAssertEqual(echo.sum, 0.003, accuracy: 1e-12)
        XCTAssertEqual(s.histogram("switchyard_tool_call_duration_seconds", matching: ["tool": "sha256"])?.count, 1)
        // Counters of a .sum family carry no process label; per-process gauges do.
        XCTAssertNil(s.family(.requestsTotal)?.samples.first?.label("process"))
        XCTAssertEqual(Set(s.family(.connections)!.samples.compactMap { $0.label("process") }), ["front-0", "front-1"])
        XCTAssertEqual(s.processes.map(\.name), ["front-0", "front-1"])
        XCTAssertEqual(s.processes.first?.pid, getpid())
        XCTAssertGreaterThan(s.processes.first?.residentBytes ?? 0, 0)
        XCTAssertEqual(s.total("switchyard_process_resident_memory_bytes", matching: ["process": "front-0"]),
                       Double(s.processes[0].residentBytes))
    }

    func testDeadProcessesLoseGaugesButTheirCountsSurviveAndAreFolded() throws {
        let live = try region("front", 0)
        live.family(.requestsTotal).counter(4, 0).add(10)
        live.gauge(.connections).set(2)
        let dead = try region("front", 1)
        dead.family(.requestsTotal).counter(4, 0).add(5)
        dead.gauge(.connections).set(9)
        dead.gauge(.executorOutstandingCalls, ["executor-0"]).set(4)
        dead.histogram(.toolCallDurationSeconds, ["echo"]).observe(500_000)
        dead.counter(.toolCallsTotal, ["echo", "ok"]).add(1)
        kill(dead)

        let c = MetricsCollector(directory: dir)
        c.foldsDeadRegions = false
        var s = c.snapshot()
        XCTAssertEqual(s.total("switchyard_requests_total"), 15)
        XCTAssertEqual(s.total("switchyard_connections"), 2)
        XCTAssertEqual(s.total("switchyard_executor_outstanding_calls"), 0)
        XCTAssertEqual(s.processes.map(\.name), ["front-0"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dead.path!))

        c.foldsDeadRegions = true
        s = c.snapshot()
        XCTAssertEqual(s.total("switchyard_requests_total"), 15)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead.path!), "the dead region is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/retired.shm"))

        // The restarted process (new pid, new file) counts from zero; the total goes on.
        let restarted = try region("front", 2)
        restarted.family(.requestsTotal).counter(4, 0).add(1)
        restarted.counter(.toolCallsTotal, ["echo", "ok"]).add(2)
        s = c.snapshot()
        XCTAssertEqual(s.total("switchyard_requests_total"), 16)
        XCTAssertEqual(s.total("switchyard_tool_calls_total", matching: ["tool": "echo", "outcome": "ok"]), 3)
        XCTAssertEqual(s.histogram("switchyard_tool_call_duration_seconds", matching: ["tool": "echo"])?.count, 1)
        XCTAssertEqual(s.total("switchyard_connections"), 2)
    }

    func testPidReuseIsDeadAndForeignFilesAreIgnored() throws {
        let r = try region("executor", 0)
        r.counter(.errorsTotal, ["timeout"]).add(1)
        r.gauge(.connections).set(1)
        // Same pid, another start time: the pid was reused by another process.
        r.words[MetricsRegion.Header.startTicks.rawValue] = 1
        FileManager.default.createFile(atPath: dir + "/junk.shm", contents: Data("not a region".utf8))
        let c = MetricsCollector(directory: dir)
        c.foldsDeadRegions = false
        let s = c.snapshot()
        XCTAssertEqual(s.total("switchyard_connections"), 0)
        XCTAssertEqual(s.total("switchyard_errors_total", matching: ["kind": "timeout"]), 1)
        XCTAssertTrue(s.processes.isEmpty)
    }

    func testConcurrentWritersSumExactly() throws {
        let r = try region("executor", 0)
        let threads = 8, perThread = 200_000
        let counter = r.counter(.toolCallsTotal, ["echo", "ok"])
        let hist = r.histogram(.toolExecutionSeconds, ["echo"])
        let gauge = r.gauge(.executorOutstandingCalls, ["executor-0"])
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                counter.increment()
                hist.observe(UInt64(i % 1000) * 1000)
                gauge.increment()
                if i % 2 == 0 { gauge.decrement() }
            }
            _ = t
        }
        XCTAssertEqual(counter.value, UInt64(threads * perThread))
        let s = MetricsCollector(directory: dir).snapshot()
        XCTAssertEqual(s.total("switchyard_tool_calls_total", matching: ["outcome": "ok"]), Double(threads * perThread))
        let h = try XCTUnwrap(s.histogram("switchyard_tool_execution_seconds"))
        XCTAssertEqual(h.count, UInt64(threads * perThread))
        let expectedSumNs = UInt64(threads) * UInt64(perThread / 1000) * (0..<1000).reduce(0) { $0 + UInt64($1) * 1000 }
        XCTAssertEqual(hist.sum, expectedSumNs)
        XCTAssertEqual(s.total("switchyard_executor_outstanding_calls"), Double(threads * perThread / 2))
    }

    func testDynamicSlotsOverflowToOther() throws {
        let r = try region("front", 0)
        let cap = DynamicLabel.tool.capacity
        var slots: [Int] = []
        for i in 0..<(cap + 5) { slots.append(r.slot(.tool, named: "tool-\(i)")) }
        XCTAssertEqual(Array(slots.prefix(cap - 1)), Array(0..<(cap - 1)))
        XCTAssertTrue(slots.suffix(6).allSatisfy { $0 == cap - 1 })
        XCTAssertEqual(r.slot(.tool, named: "tool-3"), 3, "a known name keeps its slot")
        for s in Set(slots) { r.family(.toolCallDurationSeconds).histogram(s).observe(1) }
        let snap = MetricsCollector(directory: dir).snapshot()
        let tools = snap.family(.toolCallDurationSeconds)!.samples.compactMap { $0.label("tool") }
        XCTAssertEqual(tools.count, cap)
        XCTAssertTrue(tools.contains("other"))
        XCTAssertEqual(snap.histogram("switchyard_tool_call_duration_seconds", matching: ["tool": "other"])?.count, 1)
        // Long names are cut at a character boundary.
        let long = String(repeating: "é", count: 40)
        XCTAssertEqual(MetricsRegion.truncated(long).utf8.count, DynamicLabel.maxNameBytes)
        XCTAssertEqual(MetricsRegion.truncated(String(repeating: "a", count: 55) + "é").utf8.count, 55)
    }

    func testUnusedFixedSeriesAreOmittedAndNamedSlotsShowZeros() throws {
        let r = try region("front", 0)
        _ = r.counter(.toolCallsTotal, ["echo", "ok"])
        let s = MetricsCollector(directory: dir).snapshot()
        XCTAssertEqual(s.family(.requestsTotal)?.samples.count, 0)
        XCTAssertEqual(s.family(.toolCallsTotal)?.samples.count, LabelValues.outcome.count)
        XCTAssertEqual(s.family(.connections)?.samples.count, 1, "dimensionless per-process gauges always show")
    }

    func testLabelIndexTablesMatchTheSchema() {
        for (i, code) in LabelValues.status.enumerated() {
            XCTAssertEqual(LabelIndex.status(Int(code) ?? 999), i, code)
        }
        XCTAssertEqual(LabelIndex.method("tools/call"), LabelValues.method.firstIndex(of: "tools/call"))
        XCTAssertEqual(LabelValues.method[LabelIndex.method("bogus")], "other")
        XCTAssertEqual(LabelValues.protocolVersion[LabelIndex.protocolVersion("1999-01-01")], "other")
        XCTAssertEqual(LabelValues.direction[LabelIndex.directionOut], "out")
        XCTAssertEqual(LabelValues.form[LabelIndex.formRaw], "raw")
        XCTAssertEqual(LabelValues.outcome[LabelIndex.outcomeToolError], "tool_error")
        XCTAssertEqual(LabelValues.circuitState[LabelIndex.circuitOpen], "open")
        XCTAssertEqual(LabelValues.exitReason[LabelIndex.exitGaveUp], "gave_up")
    }

    func testStateSetAndSessionsOpen() throws {
        let sup = try region("supervisor", 0)
        let exit = sup.stateSet(.workerLastExit, "executor-1")
        exit.set(LabelIndex.exitSignal)
        XCTAssertEqual(exit.current, LabelIndex.exitSignal)
        let f = try region("front", 0)
        f.counter(.sessionsCreatedTotal, ["2025-11-25"]).add(5)
        f.counter(.sessionsDeletedTotal, ["2025-11-25"]).add(2)
        let g = try region("front", 1)
        g.counter(.sessionsDeletedTotal, ["2025-11-25"]).add(1)
        let s = MetricsCollector(directory: dir).snapshot()
        XCTAssertEqual(s.total("switchyard_sessions_open", matching: ["protocol_version": "2025-11-25"]), 2)
        XCTAssertEqual(s.total("switchyard_worker_last_exit", matching: ["worker": "executor-1", "reason": "signal"]),
                       1)
        XCTAssertEqual(s.total("switchyard_worker_last_exit", matching: ["worker": "executor-1"]), 1)
    }

    func testInstallMakesTheProcessRegion() throws {
        let before = Metrics.counter(.connectionsAcceptedTotal)
        before.increment()  // anonymous region: works, invisible
        let r = try Metrics.install(runDir: dir, role: "front", index: 7)
        XCTAssertTrue(r.path!.hasSuffix("/metrics/front-7-\(getpid()).shm"))
        Metrics.counter(.connectionsAcceptedTotal).add(3)
        let s = MetricsCollector(runDir: dir).snapshot()
        XCTAssertEqual(s.total("switchyard_connections_accepted_total"), 3)
        XCTAssertEqual(before.value, 1)
    }

    func testProcStatParsesCommandsWithParentheses() {
        let line = "1234 (a) (b c) S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 98765 1000000 321 184467 0"
        let st = ProcStat.parse(line)
        XCTAssertEqual(st?.state, UInt8(ascii: "S"))
        XCTAssertEqual(st?.cpuTicks, 300)
        XCTAssertEqual(st?.startTicks, 98765)
        XCTAssertEqual(st?.rssPages, 321)
        XCTAssertNotNil(ProcStat.read(pid: getpid()))
    }

    /// Not a pass/fail benchmark: prints the cost of the hot-path operations.
    func testHotPathCost() throws {
        let r = try region("front", 0)
        let c = r.family(.requestsTotal).counter(4, 0)
        let h = r.family(.requestDurationSeconds).histogram(4)
        let n = 5_000_000
        var t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<n { c.increment() }
        let counterNs = Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(n)
        t0 = DispatchTime.now().uptimeNanoseconds
        for i in 0..<n { h.observe(UInt64(i & 0xFFFFF) * 64) }
        let histNs = Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(n)
        print("metrics hot path: counter.increment \(counterNs) ns, histogram.observe \(histNs) ns")
        XCTAssertEqual(c.value, UInt64(n))
        let t1 = DispatchTime.now().uptimeNanoseconds
        let text = PrometheusText.render(MetricsCollector(directory: dir).snapshot())
        print("metrics scrape: \(Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e6) ms, \(text.utf8.count) bytes")
    }
}
