import Glibc
import MCPCore
import Security
import XCTest
@testable import FrontTier

/// The audit writer on real files: two fronts appending to one file, rotation by rename and
/// reopen, batching per turn.
final class AuditLogTests: XCTestCase {
    private func temporaryDirectory() -> String {
        var template = Array("/tmp/sy-audit-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let dir = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        addTeardownBlock {
            for name in ["audit.log", "audit.log.1"] { unlink(dir + "/" + name) }
            rmdir(dir)
        }
        return dir
    }

    private func contents(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            out += chunk[..<n]
        }
    }

    private func record(_ i: Int) -> AuditRecord {
        AuditRecord(principal: Principal(subject: "user-\(i % 5)", method: .apiKey), sourceAddress: "192.0.2.1",
                    sessionId: nil, method: "tools/call", name: "echo", decision: .allow, reason: nil, status: 200,
                    durationNs: 1_000)
    }

    /// Scheduled flushes, run when the test says a loop turn ends.
    final class Turns {
        var work: [() -> Void] = []
        func schedule(_ w: @escaping () -> Void) { work.append(w) }
        func endTurn() { let w = work; work.removeAll(); w.forEach { $0() } }
    }

    func testOneWritePerTurnAndNothingBefore() throws {
        let path = temporaryDirectory() + "/audit.log"
        let turns = Turns()
        let log = try AuditLog(path: path, front: 0, argumentsKey: [1], schedule: turns.schedule)
        for i in 0..<10 { log.record(record(i)) }
        XCTAssertEqual(turns.work.count, 1, "one flush per turn, however many records")
        XCTAssertEqual(contents(path).count, 0, "nothing written on the request's path")
        turns.endTurn()
        XCTAssertEqual(contents(path).filter { $0 == 0x0A }.count, 10)
        log.close()
    }

    func testTwoFrontsInOneFileVerify() throws {
        let path = temporaryDirectory() + "/audit.log"
        let turnsA = Turns(), turnsB = Turns()
        let a = try AuditLog(path: path, front: 0, argumentsKey: [1], schedule: turnsA.schedule)
        let b = try AuditLog(path: path, front: 1, argumentsKey: [1], schedule: turnsB.schedule)
        for turn in 0..<50 {
            for i in 0..<(turn % 4) { a.record(record(i)) }
            for i in 0..<(turn % 3) { b.record(record(i)) }
            if turn % 2 == 0 { turnsA.endTurn(); turnsB.endTurn() } else { turnsB.endTurn(); turnsA.endTurn() }
        }
        a.close()
        b.close()
        let summary = try AuditVerifier.verify(contents(path)).get()
        XCTAssertEqual(summary.chains.count, 2)
        XCTAssertEqual(summary.lines, (0..<50).map { $0 % 4 + $0 % 3 }.reduce(0, +))
    }

    func testRotationByRenameThenReopenGivesTwoFilesThatVerify() throws {
        let dir = temporaryDirectory()
        let path = dir + "/audit.log"
        let turns = Turns()
        let log = try AuditLog(path: path, front: 3, argumentsKey: [1], schedule: turns.schedule)
        for i in 0..<20 { log.record(record(i)) }
        turns.endTurn()
        XCTAssertEqual(rename(path, dir + "/audit.log.1"), 0)
        // Records queued before the signal go to the old file with their turn.
        for i in 20..<25 { log.record(record(i)) }
        try log.reopen()
        for i in 25..<40 { log.record(record(i)) }
        turns.endTurn()
        log.close()
        let old = try AuditVerifier.verify(contents(dir + "/audit.log.1")).get()
        let new = try AuditVerifier.verify(contents(path)).get()
        XCTAssertEqual(old.lines, 25)
        XCTAssertEqual(new.lines, 15)
        XCTAssertEqual(new.chains.first?.lastSeq, 40)
        XCTAssertEqual(new.chains.first?.id, old.chains.first?.id)
        let head = try JSONValue.parse(Array(contents(path).prefix { $0 != 0x0A }))
        XCTAssertEqual(head["start"]?.stringValue, "reopen")
        XCTAssertEqual(head["prev"]?.stringValue, old.chains.first?.lastHash)
    }
}
