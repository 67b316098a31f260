@testable import FrontTier
import MCPCore
import XCTest

final class ResultCacheTests: XCTestCase {
    private func key(_ args: String?, tool: String = "add_numbers", era: StaticString = "handshake",
                     version: String = "2025-11-25", owner: UInt64? = nil) -> ResultKey? {
        guard let args else { return ResultKey.make(tool: tool, era: era, version: version, owner: owner, arguments: nil) }
        return Array(args.utf8).withUnsafeBytes {
            ResultKey.make(tool: tool, era: era, version: version, owner: owner, arguments: $0)
        }
    }

    func testKeyIsCanonicalAndSeparatesToolEraAndPrincipal() throws {
        let k = try XCTUnwrap(key(#"{"a":1,"b":2}"#))
        XCTAssertEqual(key(#"{ "b":2, "a":1.0 }"#), k)
        XCTAssertNotEqual(key(#"{"a":1,"b":3}"#), k)
        XCTAssertNotEqual(key(#"{"a":1,"b":2}"#, tool: "sha256"), k)
        XCTAssertNotEqual(key(#"{"a":1,"b":2}"#, era: "stateless", version: "2026-07-28"), k)
        XCTAssertNotEqual(key(#"{"a":1,"b":2}"#, owner: 0), k, "private to the anonymous principal vs shared")
        XCTAssertNotEqual(key(#"{"a":1,"b":2}"#, owner: 1), key(#"{"a":1,"b":2}"#, owner: 2))
        XCTAssertEqual(key(nil), key("{}"), "absent arguments are an empty object")
        XCTAssertNil(key(#"{"a":1,"a":2}"#), "no one meaning: not cached")
        XCTAssertNotEqual(key(#"{"a":1,"b":2}"#, version: "2025-06-18"), k)
        XCTAssertEqual(k.digest.count, 32)
        XCTAssertTrue(String(decoding: k.redisKey, as: UTF8.self).hasPrefix("sy:rc:"))
        XCTAssertEqual(k.redisKey.count, 6 + 64)
    }

    func testMemoryTierIsLeastRecentlyUsedWithinItsBytes() throws {
        let keys = (0..<18).map { key("{\"n\":\"k\(10 + $0)\"}")! } // keys of one length
        let cost = MemoryResultCache.cost(keys[0], [UInt8](repeating: 1, count: 100))
        var m = MemoryResultCache(maxBytes: 16 * cost)
        for k in keys[0..<16] { m.store(k, [UInt8](repeating: 1, count: 100), expiresAt: 1000) }
        XCTAssertEqual(m.count, 16)
        XCTAssertEqual(m.bytes, 16 * cost)
        XCTAssertNotNil(m.lookup(keys[0], now: 0)) // now the most recent
        m.store(keys[16], [UInt8](repeating: 2, count: 100), expiresAt: 1000)
        XCTAssertNil(m.lookup(keys[1], now: 0), "the least recently used went first")
        XCTAssertNotNil(m.lookup(keys[0], now: 0))
        XCTAssertEqual(m.count, 16)
        XCTAssertEqual(m.bytes, m.maxBytes)
        // A bigger result evicts as many as it needs: the next two least recently used.
        m.store(keys[17], [UInt8](repeating: 3, count: 250), expiresAt: 1000)
        XCTAssertLessThanOrEqual(m.bytes, m.maxBytes)
        XCTAssertEqual(m.lookup(keys[17], now: 0), [UInt8](repeating: 3, count: 250))
        XCTAssertNil(m.lookup(keys[2], now: 0))
        XCTAssertNil(m.lookup(keys[3], now: 0))
        XCTAssertNotNil(m.lookup(keys[4], now: 0))
        // One result larger than an eighth of the tier is not kept, and evicts nothing.
        let count = m.count
        m.store(keys[1], [UInt8](repeating: 4, count: m.maxBytes / 8), expiresAt: 1000)
        XCTAssertNil(m.lookup(keys[1], now: 0))
        XCTAssertEqual(m.count, count)
        // Replacing an entry counts its bytes once.
        let before = m.bytes
        m.store(keys[17], [UInt8](repeating: 5, count: 250), expiresAt: 1000)
        XCTAssertEqual(m.bytes, before)
        XCTAssertEqual(m.lookup(keys[17], now: 0), [UInt8](repeating: 5, count: 250))
        // Churn far past the bound: never over it, and every slot is reused.
        for i in 0..<2000 { m.store(key("{\"churn\":\(i)}")!, [UInt8](repeating: 6, count: i % 300), expiresAt: 1000) }
        XCTAssertLessThanOrEqual(m.bytes, m.maxBytes)
        XCTAssertNotNil(m.lookup(key("{\"churn\":1999}")!, now: 0))
    }

    func testMemoryTierExpires() throws {
        var m = MemoryResultCache(maxBytes: 1 << 20)
        let k = try XCTUnwrap(key("{}"))
        m.store(k, [1, 2, 3], expiresAt: 500)
        XCTAssertEqual(m.lookup(k, now: 499), [1, 2, 3])
        XCTAssertNil(m.lookup(k, now: 500))
        XCTAssertEqual(m.count, 0)
        XCTAssertEqual(m.bytes, 0)
    }

    func testSealedResultsOpenOnlyUnderTheirKeyAndBeforeTheirExpiry() throws {
        let sealer = ResultSealer(sessionKey: [UInt8](repeating: 0x42, count: 32))
        let k = try XCTUnwrap(key("{}")), other = try XCTUnwrap(key(#"{"x":1}"#))
        let result = Array(#"{"content":[],"structuredContent":{"sum":3}}"#.utf8)
        let box = try XCTUnwrap(sealer.seal(result, expiresAtUnixMs: 10_000, under: k.redisKey))
        XCTAssertFalse(box.indices.contains { box[$0...].starts(with: Array("structuredContent".utf8)) }, "encrypted")
        let opened = try XCTUnwrap(sealer.open(box, under: k.redisKey, nowUnixMs: 9_999))
        XCTAssertEqual(opened.result, result)
        XCTAssertEqual(opened.expiresAtUnixMs, 10_000)
        XCTAssertNil(sealer.open(box, under: k.redisKey, nowUnixMs: 10_000), "expired")
        XCTAssertNil(sealer.open(box, under: other.redisKey, nowUnixMs: 0), "moved under another key")
        var altered = box
        altered[altered.count / 2] ^= 0x80
        XCTAssertNil(sealer.open(altered, under: k.redisKey, nowUnixMs: 0), "tampered")
        let otherServer = ResultSealer(sessionKey: [UInt8](repeating: 0x43, count: 32))
        XCTAssertNil(otherServer.open(box, under: k.redisKey, nowUnixMs: 0), "another server key")
    }

    private func traits(_ json: String) -> ToolTraits { ToolTraits(catalogJSON: Array(json.utf8)) }

    func testPolicyTakesTTLsOnlyForReadOnlyIdempotentTools() {
        let pure = #"{"annotations":{"readOnlyHint":true,"idempotentHint":true}"#
        let all: [String: ToolTraits] = [
            "echo": traits(pure + "}"),
            "add": traits(pure + #","_meta":{"io.switchyard/cacheTtlMs":60000,"io.switchyard/cacheScope":"shared"}}"#),
            "mine": traits(pure + #","_meta":{"io.switchyard/cacheTtlMs":5}}"#),
            "write": traits(#"{"annotations":{"readOnlyHint":false,"idempotentHint":true},"_meta":{"io.switchyard/cacheTtlMs":5}}"#),
            "readonly": traits(#"{"annotations":{"readOnlyHint":true}}"#),
        ]
        let p = ResultCachePolicy(traits: all, configured: ["readonly": 100, "mine": 7])
        func rule(_ n: String) -> ResultCachePolicy.Rule? { Array(n.utf8).withUnsafeBytes { p.rule(named: $0) } }
        XCTAssertNil(rule("echo"), "the hints alone imply no TTL")
        XCTAssertEqual(rule("add")?.ttlMs, 60_000)
        XCTAssertEqual(rule("add")?.shared, true)
        XCTAssertEqual(rule("mine")?.ttlMs, 7, "the config overrides the tool")
        XCTAssertEqual(rule("mine")?.shared, false)
        XCTAssertNil(rule("write"))
        XCTAssertNil(rule("readonly"))
        XCTAssertNil(rule("ad"))
        XCTAssertEqual(p.refused.map(\.tool), ["readonly", "write"])
        XCTAssertTrue(p.refused[0].why.contains("--tool-cache-ttl"))
        XCTAssertTrue(p.refused[1].why.contains("cacheTtlMs"))
        XCTAssertTrue(ResultCachePolicy(traits: ["echo": all["echo"]!], configured: [:]).isEmpty)
        for bad in ["0", "1.5", "-5", "86400001", "\"60000\"", "true"] {
            XCTAssertNil(traits(pure + #","_meta":{"io.switchyard/cacheTtlMs":"# + bad + "}}").cacheTtlMs, bad)
        }
        XCTAssertEqual(traits(pure + #","_meta":{"io.switchyard/cacheTtlMs":86400000}}"#).cacheTtlMs, 86_400_000)
    }
}
