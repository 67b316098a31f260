import MCPCore
import XCTest
@testable import Security

/// Builds audit logs in memory and checks that `AuditVerifier` accepts them whole and names the
/// first broken line of each kind of tampering.
final class AuditChainTests: XCTestCase {
    static let alice = Principal(subject: "alice", clientId: "app-1", scopes: ["tools"], method: .oauth)

    static func record(_ i: Int, principal: Principal = alice) -> AuditRecord {
        AuditRecord(timeNs: 1_796_659_024_123_000_000 + UInt64(i) * 1_000_000, principal: principal,
                    sourceAddress: "10.0.0.\(i % 250)", sessionId: "session-\(i % 3)", method: "tools/call",
                    name: "echo", decision: i % 7 == 0 ? .deny : .allow, reason: i % 7 == 0 ? "rate limited" : nil,
                    status: i % 7 == 0 ? 429 : 200, durationNs: UInt64(i) * 12_345,
                    arguments: ArgumentsDigest(arguments: Array("{\"n\":\(i)}".utf8), key: Array("k".utf8)))
    }

    /// One chain of `count` lines.
    static func log(_ count: Int) -> [[UInt8]] {
        var chain = AuditChain(front: 0)
        return (1...count).map { i in
            var out: [UInt8] = []
            chain.append(record(i), to: &out)
            return Array(out.dropLast())
        }
    }

    static func joined(_ lines: [[UInt8]]) -> [UInt8] {
        lines.reduce(into: [UInt8]()) { $0 += $1; $0.append(0x0A) }
    }

    func failure(_ lines: [[UInt8]], file: StaticString = #filePath, line: UInt = #line) -> AuditVerifier.Failure? {
        switch AuditVerifier.verify(Self.joined(lines)) {
        case .success: XCTFail("tampering not detected", file: file, line: line); return nil
        case .failure(let f): return f
        }
    }

    /// The line with one top-level member's value replaced (test lines hold no nested values).
    static func replacing(_ key: String, in line: [UInt8], with value: String) -> [UInt8] {
        let text = String(decoding: line, as: UTF8.self)
        let marker = "\"\(key)\":"
        let start = text.range(of: marker)!.upperBound
        var end = start
        var inString = false
        while end < text.endIndex {
            let c = text[end]
            if c == "\"" { inString.toggle() }
            if !inString && (c == "," || c == "}") { break }
            end = text.index(after: end)
        }
        return Array((text[..<start] + value + text[end...]).utf8)
    }

    func testLongChainVerifies() throws {
        let summary = try AuditVerifier.verify(Self.joined(Self.log(1_000))).get()
        XCTAssertEqual(summary.lines, 1_000)
        XCTAssertEqual(summary.chains.count, 1)
        XCTAssertEqual(summary.chains[0].lastSeq, 1_000)
    }

    func testLineLayoutAndKeyOrder() throws {
        let line = String(decoding: Self.log(1)[0], as: UTF8.self)
        XCTAssertTrue(line.hasPrefix("{\"time\":\"2026-12-07T"), line)
        let keys = ["time", "front", "chain", "seq", "prev", "start", "subject", "clientId", "auth", "source",
                    "session", "method", "name", "decision", "reason", "status", "durationMs", "argsHash"]
        let positions = keys.map { line.range(of: "\"\($0)\":")!.lowerBound }
        XCTAssertEqual(positions, positions.sorted())
        guard case .object(let o) = try JSONValue.parse(Array(line.utf8)) else { return XCTFail() }
        XCTAssertEqual(o["start"]?.stringValue, "new")
        XCTAssertEqual(o["prev"]?.stringValue, String(repeating: "0", count: 64))
        XCTAssertEqual(o["auth"]?.stringValue, "oauth")
        XCTAssertEqual(o["durationMs"]?.numberValue, 0.012)
        XCTAssertEqual(AuditRecord.timestamp(1_796_659_024_007_000_000), "2026-12-07T15:57:04.007Z")
    }

    func testEditingAnyFieldOfALineIsFoundAtThatLine() throws {
        let lines = Self.log(100)
        let edits: [(String, String)] = [
            ("time", "\"2026-12-08T15:57:05.000Z\""), ("front", "1"), ("seq", "51"),
            ("prev", "\"" + String(repeating: "a", count: 64) + "\""), ("subject", "\"mallory\""),
            ("clientId", "null"), ("auth", "\"api-key\""), ("source", "\"10.9.9.9\""), ("session", "null"),
            ("method", "\"tools/list\""), ("name", "\"other\""), ("decision", "\"deny\""), ("reason", "\"ok\""),
            ("status", "201"), ("durationMs", "0.001"), ("argsHash", "null"),
        ]
        for (key, value) in edits {
            var tampered = lines
            tampered[49] = Self.replacing(key, in: lines[49], with: value)
            XCTAssertNotEqual(tampered[49], lines[49], key)
            let f = failure(tampered)
            XCTAssertEqual(f?.line, 50, "\(key): \(String(describing: f))")
            XCTAssertEqual(f?.kind, .edited, "\(key): \(String(describing: f))")
        }
        // Moving a line to another chain: found at that line too.
        var moved = lines
        moved[49] = Self.replacing("chain", in: lines[49], with: "\"0123456789abcdef\"")
        XCTAssertEqual(failure(moved)?.line, 50)
        // The second-to-last line: its successor is the last line.
        var nearEnd = lines
        nearEnd[98] = Self.replacing("subject", in: lines[98], with: "\"mallory\"")
        XCTAssertEqual(failure(nearEnd)?.line, 99)
    }

    func testDeletedLineIsFoundWhereItWas() {
        var lines = Self.log(100)
        lines.remove(at: 49)
        let f = failure(lines)
        XCTAssertEqual(f?.line, 50)
        XCTAssertEqual(f?.kind, .deleted)
        var several = Self.log(100)
        several.removeSubrange(20..<25)
        XCTAssertEqual(failure(several)?.line, 21)
        XCTAssertEqual(failure(several)?.kind, .deleted)
        var first = Self.log(10)
        first.removeFirst()
        XCTAssertEqual(failure(first)?.line, 1)
        XCTAssertEqual(failure(first)?.kind, .deleted)
    }

    func testSwappedLinesAreFoundAtTheFirst() {
        var adjacent = Self.log(100)
        adjacent.swapAt(49, 50)
        XCTAssertEqual(failure(adjacent)?.line, 50)
        XCTAssertEqual(failure(adjacent)?.kind, .reordered)
        var apart = Self.log(100)
        apart.swapAt(29, 59)
        XCTAssertEqual(failure(apart)?.line, 30)
        XCTAssertEqual(failure(apart)?.kind, .reordered)
    }

    func testInsertedLinesAreFoundAtTheInsertion() throws {
        let lines = Self.log(100)
        // A forgery that links perfectly to line 50 and numbers itself 51.
        var chain = AuditChain(front: 0, id: "ffffffffffffffff")
        var out: [UInt8] = []
        chain.append(Self.record(999, principal: Principal(subject: "mallory", method: .apiKey)), to: &out)
        var forged = Array(out.dropLast())
        let id = try XCTUnwrap(try JSONValue.parse(lines[0])["chain"]?.stringValue)
        forged = Self.replacing("chain", in: forged, with: "\"\(id)\"")
        forged = Self.replacing("seq", in: forged, with: "51")
        forged = Self.replacing("start", in: forged, with: "null")
        forged = Array(String(decoding: forged, as: UTF8.self).replacingOccurrences(of: ",\"start\":null", with: "").utf8)
        forged = Self.replacing("prev", in: forged, with: "\"\(AuditDigest.hex(AuditDigest.sha256(lines[49])))\"")
        var linked = lines
        linked.insert(forged, at: 50)
        XCTAssertEqual(failure(linked)?.line, 51)
        XCTAssertEqual(failure(linked)?.kind, .inserted)
        // A replayed copy of line 50.
        var replayed = lines
        replayed.insert(lines[49], at: 50)
        XCTAssertEqual(failure(replayed)?.line, 51)
        XCTAssertEqual(failure(replayed)?.kind, .inserted)
        // A line whose prev matches nothing.
        var naive = lines
        naive.insert(Self.replacing("prev", in: lines[10], with: "\"" + String(repeating: "b", count: 64) + "\""), at: 50)
        XCTAssertEqual(failure(naive)?.line, 51)
        XCTAssertEqual(failure(naive)?.kind, .inserted)
    }

    func testTwoWritersInterleavedVerify() throws {
        var a = AuditChain(front: 0), b = AuditChain(front: 1)
        var file: [UInt8] = []
        var g = SystemRandomNumberGenerator()
        for i in 0..<500 {
            // Each front appends its own batches; batches interleave in any order.
            if Bool.random(using: &g) { a.append(Self.record(i), to: &file) } else { b.append(Self.record(i), to: &file) }
        }
        let summary = try AuditVerifier.verify(file).get()
        XCTAssertEqual(summary.lines, 500)
        XCTAssertEqual(summary.chains.count, 2)
        XCTAssertEqual(summary.chains.map(\.lines).reduce(0, +), 500)
    }

    func testReopenedChainVerifiesInEachFile() throws {
        var chain = AuditChain(front: 2)
        var first: [UInt8] = [], second: [UInt8] = []
        for i in 0..<10 { chain.append(Self.record(i), to: &first) }
        let lastHash = AuditDigest.hex(chain.lastHash)
        chain.reopened()
        for i in 10..<20 { chain.append(Self.record(i), to: &second) }
        XCTAssertEqual(try AuditVerifier.verify(first).get().chains[0].lastHash, lastHash)
        let s = try AuditVerifier.verify(second).get()
        XCTAssertEqual(s.lines, 10)
        XCTAssertEqual(s.chains[0].lastSeq, 20)
        let head = try JSONValue.parse(Array(second.prefix { $0 != 0x0A }))
        XCTAssertEqual(head["start"]?.stringValue, "reopen")
        XCTAssertEqual(head["prev"]?.stringValue, lastHash)
        XCTAssertEqual(head["seq"]?.numberValue, 11)
        // Verified as a sequence, the second file must continue the first exactly.
        let firstSummary = try AuditVerifier.verify(first).get()
        XCTAssertEqual(try AuditVerifier.verify(second, after: firstSummary.chains).get().lines, 10)
        let cutFirst = Array(first.dropLast().split(separator: 0x0A).dropLast().joined(separator: [0x0A])) + [0x0A]
        let cutSummary = try AuditVerifier.verify(cutFirst).get()
        XCTAssertEqual(cutSummary.lines, 9)
        guard case .failure(let f) = AuditVerifier.verify(second, after: cutSummary.chains) else {
            return XCTFail("a line cut from the end of the older file went unnoticed")
        }
        XCTAssertEqual(f.line, 1)
        XCTAssertEqual(f.kind, .deleted)
        // A reopen start cannot be faked into the middle of a file to hide deleted lines.
        var cut = Self.log(20)
        cut.remove(at: 10)
        XCTAssertEqual(failure(cut)?.line, 11)
    }

    func testHostileStringsStayOnOneLine() throws {
        let hostile = "a\"b\\c\nd\re\tf\u{0}g\u{1b}[31mh\u{7f}i\u{2028}j\"}\n{\"chain\":\"x\""
        let principal = Principal(subject: hostile, clientId: hostile, method: .apiKey)
        var chain = AuditChain(front: 0)
        var out: [UInt8] = []
        for _ in 0..<3 {
            chain.append(AuditRecord(principal: principal, sourceAddress: hostile, sessionId: hostile,
                                     method: hostile, name: hostile, decision: .deny, reason: hostile,
                                     status: 403, durationNs: 1), to: &out)
        }
        XCTAssertEqual(out.filter { $0 == 0x0A }.count, 3)
        XCTAssertFalse(out.contains { $0 < 0x20 && $0 != 0x0A })
        XCTAssertEqual(try AuditVerifier.verify(out).get().lines, 3)
        let first = try JSONValue.parse(Array(out.prefix { $0 != 0x0A }))
        for key in ["subject", "clientId", "source", "method", "name", "reason"] {
            XCTAssertEqual(first[key]?.stringValue, hostile, key)
        }
    }

    func testNoSessionIdOrArgumentValueGetsIn() {
        let session = "sy1.secret-session-token-value"
        let arguments = Array("{\"password\":\"hunter2\"}".utf8)
        var chain = AuditChain(front: 0)
        var out: [UInt8] = []
        chain.append(AuditRecord(principal: Self.alice, sourceAddress: nil, sessionId: session, method: "tools/call",
                                 name: "login", decision: .allow, reason: nil, status: 200, durationNs: 1,
                                 arguments: ArgumentsDigest(arguments: arguments, key: Array("server key".utf8))),
                     to: &out)
        let text = String(decoding: out, as: UTF8.self)
        XCTAssertFalse(text.contains("secret-session"))
        XCTAssertFalse(text.contains("hunter2"))
        // Digests of one session and of equal arguments correlate.
        let again = AuditRecord(principal: Self.alice, sourceAddress: nil, sessionId: session, method: "m", name: nil,
                                decision: .allow, reason: nil, status: 200, durationNs: 1,
                                arguments: ArgumentsDigest(arguments: arguments, key: Array("server key".utf8)))
        XCTAssertTrue(text.contains(again.session!))
        XCTAssertTrue(text.contains(again.arguments!.hex))
        XCTAssertNotEqual(ArgumentsDigest(arguments: arguments, key: Array("other".utf8)), again.arguments)
    }

    func testMalformedLineIsNamed() {
        var lines = Self.log(5)
        lines[2] = Array(lines[2].prefix(40))
        XCTAssertEqual(failure(lines)?.line, 3)
        XCTAssertEqual(failure(lines)?.kind, .malformed)
    }
}
