import CSupport
@testable import EventLoop
import XCTest

/// The trim policy's decisions, and a real trim giving back what a burst left resident.
final class HeapTrimmerTests: XCTestCase {
    private let mb = 1 << 20

    private func census(inUse: Int, resident: Int) -> HeapCensus {
        HeapCensus(inUse: inUse, free: 0, anonResident: resident)
    }

    func testTrimsOnlyWhenEnoughIsRetainedAndUseHasStoppedGrowing() {
        var p = HeapTrimPolicy(minRetained: 2 * mb, minIntervalMs: 10_000)
        XCTAssertFalse(p.shouldTrim(census(inUse: 10 * mb, resident: 11 * mb), nowMs: 0), "1 MiB retained")
        XCTAssertFalse(p.shouldTrim(census(inUse: 20 * mb, resident: 40 * mb), nowMs: 1000), "use still growing")
        XCTAssertTrue(p.shouldTrim(census(inUse: 5 * mb, resident: 40 * mb), nowMs: 2000), "burst over")
        XCTAssertFalse(p.shouldTrim(census(inUse: 5 * mb, resident: 40 * mb), nowMs: 11_999), "within the interval")
        XCTAssertTrue(p.shouldTrim(census(inUse: 5 * mb, resident: 40 * mb), nowMs: 12_000), "interval passed")
    }

    func testNeverTrimsWithoutAResidentFigure() {
        var p = HeapTrimPolicy(minRetained: 1, minIntervalMs: 0)
        XCTAssertFalse(p.shouldTrim(census(inUse: 5 * mb, resident: 0), nowMs: 0))
        XCTAssertEqual(census(inUse: 5 * mb, resident: 1 * mb).retained, 0, "never negative")
    }

    /// 48 MiB in 16 KiB blocks, then all freed but every eighth: the free blocks lie below live
    /// ones, so `free` returns none of them and they stay resident until a trim.
    func testATrimGivesBackWhatABurstLeftResident() throws {
        let blocks = (0..<3072).map { _ -> UnsafeMutableRawPointer in
            let p = malloc(16 << 10)!
            memset(p, 0x5a, 16 << 10)
            return p
        }
        var kept: [UnsafeMutableRawPointer] = []
        for (i, p) in blocks.enumerated() { if i % 8 == 0 { kept.append(p) } else { free(p) } }
        defer { for p in kept { free(p) } }
        let before = HeapCensus.now()
        try XCTSkipIf(before.anonResident == 0, "no /proc/self/statm here")
        XCTAssertGreaterThan(before.inUse, 6 * mb)
        XCTAssertGreaterThan(before.retained, 30 * mb, "the freed blocks stay resident")
        sy_malloc_trim()
        let after = HeapCensus.now()
        XCTAssertLessThan(after.retained, before.retained - 30 * mb, "the trim gave them back")
        XCTAssertGreaterThan(after.inUse, 6 * mb, "what is in use stays")
    }

    /// The trimmer samples on its timer, reports each census and trims when the policy says so.
    func testTheTrimmerSamplesAndTrimsOnTheLoop() {
        let loop = Loop()
        var samples = 0
        let trimmer = HeapTrimmer(loop: loop, everyMs: 2, policy: HeapTrimPolicy(minRetained: 0, minIntervalMs: 0)) { c in
            XCTAssertGreaterThan(c.inUse, 0)
            samples += 1
            if samples == 5 { loop.stop() }
        }
        let watchdog = Timer.once(loop: loop, after: 5_000) { loop.stop() }
        loop.run()
        watchdog.close()
        XCTAssertEqual(samples, 5)
        XCTAssertGreaterThanOrEqual(trimmer.trims, 1)
        XCTAssertGreaterThan(trimmer.last.inUse, 0)
        trimmer.close()
    }
}
