import Foundation
import Metrics
import XCTest

/// The Grafana dashboard only queries metrics the server exports.
final class DeployFilesTests: XCTestCase {
    func testDashboardUsesOnlyExportedMetricNames() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: repo.appendingPathComponent("deploy/grafana/switchyard-dashboard.json"),
                              encoding: .utf8)
        // An empty run directory still renders every family (with no samples).
        let exported = Set(MetricsCollector(directory: "/nonexistent-sy-metrics").snapshot().families.map(\.name))
        let regex = try NSRegularExpression(pattern: "switchyard_[a-z_]+")
        let names = Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range, in: text)!])
        })
        XCTAssertGreaterThan(names.count, 15)
        for n in names {
            let base = ["_bucket", "_sum", "_count"].reduce(n) {
                $0.hasSuffix($1) && !exported.contains($0) ? String($0.dropLast($1.count)) : $0
            }
            XCTAssertTrue(exported.contains(base), "dashboard queries \(n), which is not exported")
        }
    }
}
