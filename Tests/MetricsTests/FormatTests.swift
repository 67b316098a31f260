import Foundation
@testable import Metrics
import XCTest

/// Histogram math, the Prometheus text format (checked by a small independent parser) and the
/// status page.
final class FormatTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "sy-metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testHistogramBucketsAreInclusiveUpperBoundsAndCumulative() throws {
        let r = MetricsRegion.anonymous()
        let h = r.family(.requestDurationSeconds).histogram(0)
        h.observe(0)               // le 0.0001
        h.observe(100_000)         // exactly 100 µs: le 0.0001
        h.observe(100_001)         // le 0.00025
        h.observe(seconds: 0.003)  // le 0.005
        h.observe(seconds: 10)     // le 10
        h.observe(seconds: 11)     // +Inf
        let words = (0...(Schema.latencyBuckets.count + 1)).map { r.family(.requestDurationSeconds).base[$0] }
        let hv = HistogramValue(bounds: Schema.latencyBuckets, perBucket: Array(words.dropLast()),
                                sum: Double(words.last!) / 1e9)
        let le = { (b: Double) in hv.cumulative[Schema.latencyBuckets.firstIndex(of: b)!] }
        XCTAssertEqual(le(0.0001), 2)
        XCTAssertEqual(le(0.00025), 3)
        XCTAssertEqual(le(0.0025), 3)
        XCTAssertEqual(le(0.005), 4)
        XCTAssertEqual(le(5), 4)
        XCTAssertEqual(le(10), 5)
        XCTAssertEqual(hv.count, 6)
        XCTAssertEqual(h.count, 6)
        XCTAssertEqual(hv.sum, 0.0002 + 0.000000001 + 0.003 + 21, accuracy: 1e-9)
        XCTAssertEqual(hv.cumulative, hv.cumulative.sorted(), "cumulative counts never decrease")
    }

    func testQuantilesInterpolateLikePromQL() {
        // 100 observations: 50 in (0, 1], 40 in (1, 2], 10 in (2, 4].
        let h = HistogramValue(bounds: [1, 2, 4], cumulative: [50, 90, 100, 100], sum: 150)
        XCTAssertEqual(h.quantile(0.5)!, 1, accuracy: 1e-12)
        XCTAssertEqual(h.quantile(0.25)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(h.quantile(0.7)!, 1.5, accuracy: 1e-12)
        XCTAssertEqual(h.quantile(0.99)!, 3.8, accuracy: 1e-12)
        XCTAssertEqual(HistogramValue(bounds: [1, 2], cumulative: [0, 0, 5], sum: 50).quantile(0.5), 2,
                       "in +Inf: the highest finite bound")
        XCTAssertNil(HistogramValue(bounds: [1], cumulative: [0, 0], sum: 0).quantile(0.5))
        let later = HistogramValue(bounds: [1, 2, 4], cumulative: [60, 100, 120, 120], sum: 200)
        XCTAssertEqual(later.subtracting(h).cumulative, [10, 10, 20, 20])
    }

    func testTextFormatParsesAndEscapes() throws {
        let a = try MetricsRegion.create(directory: dir, role: "front", index: 0)
        let b = try MetricsRegion.create(directory: dir, role: "executor", index: 0)
        a.family(.requestsTotal).counter(LabelIndex.method("tools/call"), LabelIndex.status(200)).add(42)
        a.family(.requestDurationSeconds).histogram(LabelIndex.method("tools/call")).observe(seconds: 0.002)
        let weird = "we\"ird\\to\nol"
        a.histogram(.toolCallDurationSeconds, [weird]).observe(seconds: 0.5)
        b.histogram(.toolExecutionSeconds, ["echo"]).observe(seconds: 0.0004)
        a.gauge(.eventLoopLagSeconds).set(1_500_000)
        a.stateSet(.executorCircuitState, "executor-0").set(LabelIndex.circuitClosed)
        let text = PrometheusText.render(MetricsCollector(directory: dir).snapshot())

        let parsed = try TextFormatChecker.check(text)
        XCTAssertEqual(parsed.value("switchyard_requests_total", ["method": "tools/call", "status": "200"]), 42)
        XCTAssertEqual(parsed.value("switchyard_tool_call_duration_seconds_count", ["tool": weird]), 1)
        XCTAssertTrue(text.contains(#"tool="we\"ird\\to\nol""#), "label values escape \\, \" and newline")
        XCTAssertEqual(parsed.value("switchyard_event_loop_lag_seconds", ["process": "front-0"]), 0.0015)
        let bucket = "switchyard_request_duration_seconds_bucket"
        XCTAssertEqual(parsed.value(bucket, ["method": "tools/call", "le": "0.0025"]), 1)
        XCTAssertEqual(parsed.value(bucket, ["method": "tools/call", "le": "0.001"]), 0)
        XCTAssertEqual(parsed.value(bucket, ["method": "tools/call", "le": "+Inf"]), 1)
        XCTAssertEqual(parsed.value("switchyard_executor_circuit_state",
                                    ["process": "front-0", "executor": "executor-0", "state": "closed"]), 1)
        XCTAssertEqual(parsed.value("switchyard_executor_circuit_state",
                                    ["process": "front-0", "executor": "executor-0", "state": "open"]), 0)
        XCTAssertNotNil(parsed.value("switchyard_process_cpu_seconds_total", ["process": "executor-0"]))
        XCTAssertEqual(parsed.types["switchyard_request_duration_seconds"], "histogram")
        XCTAssertEqual(parsed.types.count, Schema.families.count + 4,
                       "every family, the derived one, 3 process families")
        XCTAssertTrue(text.contains("le=\"1\"") && text.contains("le=\"0.0001\""), "bounds print like Prometheus")
        XCTAssertEqual(PrometheusText.escapeHelp("a\\b\nc"), "a\\\\b\\nc")
    }

    func testCheckerRejectsBrokenText() {
        let broken = [
            "# TYPE x counter\n# TYPE x counter\nx 1\n",
            "x{a=\"1} 2\n",
            "x{a=\"1\"} two\n",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            "x{a=\"\\q\"} 1\n",
        ]
        for t in broken { XCTAssertThrowsError(try TextFormatChecker.check(t), t) }
    }

    func testStatusPageShowsTheNumbers() throws {
        let bounds = Schema.latencyBuckets
        func hist(_ counts: [UInt64]) -> HistogramValue {
            let rest = [UInt64](repeating: counts.last!, count: bounds.count + 1 - counts.count)
            return HistogramValue(bounds: bounds, cumulative: counts + rest, sum: 1)
        }
        let old = MetricsSnapshot(takenAt: 1000, families: [
            FamilySnapshot(name: "switchyard_requests_total", help: "", type: .counter,
                           samples: [Sample(labels: [Label("method", "tools/call")], value: 1000)]),
            FamilySnapshot(name: "switchyard_request_duration_seconds", help: "", type: .histogram,
                           samples: [Sample(labels: [], histogram: hist([0, 0, 0, 0, 1000]))]),
        ])
        let now = MetricsSnapshot(takenAt: 1002, families: [
            FamilySnapshot(name: "switchyard_connections", help: "", type: .gauge,
                           samples: [Sample(labels: [Label("process", "front-0")], value: 3),
                                     Sample(labels: [Label("process", "front-1")], value: 4)]),
            FamilySnapshot(name: "switchyard_requests_total", help: "", type: .counter,
                           samples: [Sample(labels: [Label("method", "tools/call")], value: 1500)]),
            // 500 more: all in (0.001, 0.0025] → p50 1.75 ms, p99 2.485 ms over the window.
            FamilySnapshot(name: "switchyard_request_duration_seconds", help: "", type: .histogram,
                           samples: [Sample(labels: [], histogram: hist([0, 0, 0, 0, 1500]))]),
            FamilySnapshot(name: "switchyard_executor_link_up", help: "", type: .gauge,
                           samples: [Sample(labels: [Label("process", "front-0"), Label("executor", "executor-0")],
                                            value: 1),
                                     Sample(labels: [Label("process", "front-1"), Label("executor", "executor-0")],
                                            value: 1)]),
            FamilySnapshot(name: "switchyard_worker_up", help: "", type: .gauge,
                           samples: [Sample(labels: [Label("worker", "executor-0")], value: 1),
                                     Sample(labels: [Label("worker", "<b>executor-1</b>")], value: 0)]),
            FamilySnapshot(name: "switchyard_worker_restarts_total", help: "", type: .counter,
                           samples: [Sample(labels: [Label("worker", "<b>executor-1</b>")], value: 17)]),
        ], processes: [ProcessSnapshot(name: "front-0", role: "front", index: 0, pid: 4242, cpuSeconds: 1.5,
                                       residentBytes: 10 * 1_048_576)])
        let page = StatusPage.render(now, previous: old)
        XCTAssertTrue(page.contains("id=\"connections\">7<"), page)
        XCTAssertTrue(page.contains("id=\"rate\">250.0<"))
        XCTAssertTrue(page.contains("id=\"p50\">1.75<"))
        XCTAssertTrue(page.contains("id=\"p99\">2.4"))
        XCTAssertTrue(page.contains("id=\"requests\">1500<"))
        XCTAssertTrue(page.contains("<td>executor-0</td><td>2</td>"), "linked from both fronts")
        XCTAssertTrue(page.contains("&lt;b&gt;executor-1&lt;/b&gt;</td><td class=\"down\">down</td><td>17</td>"))
        XCTAssertFalse(page.contains("<b>executor-1"), "names are escaped")
        XCTAssertTrue(page.contains("<td>front-0</td><td>4242</td><td>1.50</td><td>10.0</td>"))
        XCTAssertTrue(page.contains("fetch(url") && page.contains("\"/status.json\"")
                      && page.contains("setTimeout(tick,1000)"))
        XCTAssertFalse(page.contains("src=") || page.contains("href="), "no external assets")

        let json = StatusPage.json(now, previous: old)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(obj["connections"] as? Double, 7)
        XCTAssertEqual(obj["request_rate"] as? Double, 250)
        XCTAssertEqual(obj["p50_seconds"] as! Double, 0.00175, accuracy: 1e-12)
        let workers = try XCTUnwrap(obj["workers"] as? [[String: Any]])
        XCTAssertEqual(workers.count, 2)
        XCTAssertEqual(workers[0]["name"] as? String, "<b>executor-1</b>")
        XCTAssertEqual(workers[0]["restarts"] as? Double, 17)
        XCTAssertFalse(json.contains("<"), "safe to inline")
        // Without a previous snapshot: no rate, quantiles since the start.
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(StatusPage.json(now).utf8)) as? [String: Any])
        XCTAssertTrue(first["request_rate"] is NSNull)
        XCTAssertEqual(first["p50_seconds"] as! Double, 0.00175, accuracy: 1e-12)
    }

    func testStatusPageFromARealSnapshotIsValid() throws {
        let r = try MetricsRegion.create(directory: dir, role: "front", index: 0)
        r.gauge(.connections).set(12)
        r.family(.requestDurationSeconds).histogram(4).observe(seconds: 0.004)
        r.gauge(.executorOutstandingCalls, ["executor-1"]).set(2)
        let s = MetricsCollector(directory: dir).snapshot()
        let page = StatusPage.render(s)
        XCTAssertTrue(page.contains("id=\"connections\">12<"))
        XCTAssertTrue(page.contains("id=\"p50\">3.75<"))
        XCTAssertTrue(page.contains("<td>executor-1</td><td>0</td><td>2</td>"))
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(StatusPage.json(s).utf8)))
    }

    func testFixedDecimals() {
        XCTAssertEqual(StatusPage.fixed(1.005, 2), "1.00")  // binary 1.00499…
        XCTAssertEqual(StatusPage.fixed(2.4851, 2), "2.49")
        XCTAssertEqual(StatusPage.fixed(-0.25, 1), "-0.3")
        XCTAssertEqual(StatusPage.fixed(3, 0), "3")
        XCTAssertEqual(StatusPage.fixed(0.05, 2), "0.05")
    }
}
