@testable import FrontTier
import XCTest

/// Run-time name conflicts with upstreams: the best-ranked source (non-upstreams, then upstreams
/// in config order) owns a name on every front whatever the order its links became ready in;
/// other upstreams' entries are refused (reported once); replicas of one source and
/// non-upstream sources merge.
final class CatalogOwnersTests: XCTestCase {
    /// Ranks as `MergedCatalog` gives them: a from the config's first upstream, b from its second.
    let ranks = ["upstream.a": 100, "upstream.b": 101, "swift": 0, "ext": 0]

    func testSourceIsTheExecutorNameWithoutItsInstanceNumber() {
        XCTAssertEqual(CatalogOwners.source(of: "swift-0"), "swift")
        XCTAssertEqual(CatalogOwners.source(of: "swift-12"), "swift")
        XCTAssertEqual(CatalogOwners.source(of: "upstream.fs-100"), "upstream.fs")
        XCTAssertEqual(CatalogOwners.source(of: "upstream.my-server-101"), "upstream.my-server")
        XCTAssertEqual(CatalogOwners.source(of: "noisy"), "noisy")
        XCTAssertEqual(CatalogOwners.source(of: "trailing-"), "trailing-")
        XCTAssertEqual(CatalogOwners.describe("upstream.fs"), "upstream 'fs'")
        XCTAssertEqual(CatalogOwners.describe("swift"), "the built-in tool packs")
    }

    func testRankIsZeroForNonUpstreamsAndTheSlotForUpstreams() {
        XCTAssertEqual(CatalogOwners.rank(of: "swift-3"), 0)
        XCTAssertEqual(CatalogOwners.rank(of: "ext-7"), 0)
        XCTAssertEqual(CatalogOwners.rank(of: "upstream.fs-100"), 100)
        XCTAssertEqual(CatalogOwners.rank(of: "upstream.my-server-103"), 103)
        XCTAssertEqual(CatalogOwners.rank(of: "upstream.odd"), Int.max)
    }

    func testALaterUpstreamIsRefusedOnceAndTheOwnerKeepsTheName() {
        let owners = CatalogOwners()
        owners.begin(listed: ["upstream.a": ["tool:say"], "upstream.b": ["tool:say", "tool:add_say"]], rank: ranks)
        XCTAssertTrue(owners.admit("tool", "add_say", source: "upstream.b"))
        XCTAssertFalse(owners.admit("tool", "say", source: "upstream.b"))
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.a"))
        XCTAssertEqual(owners.conflicts.map(\.owner), ["upstream.a"])
        XCTAssertEqual(owners.conflicts.map(\.refused), ["upstream.b"])
        // The next rebuild: still a's, and not reported again.
        owners.begin(listed: ["upstream.a": ["tool:say"], "upstream.b": ["tool:say", "tool:add_say"]], rank: ranks)
        XCTAssertFalse(owners.admit("tool", "say", source: "upstream.b"))
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.a"))
        XCTAssertTrue(owners.conflicts.isEmpty)
    }

    /// Front 0 saw a's link ready first; front 1 (restarted) sees b's first. Both end with a.
    func testTwoFrontsAgreeOnTheOwnerWhateverTheOrderTheirLinksBecameReady() {
        let front0 = CatalogOwners(), front1 = CatalogOwners()
        front0.begin(listed: ["upstream.a": ["tool:say"]], rank: ranks)
        XCTAssertTrue(front0.admit("tool", "say", source: "upstream.a"))
        front0.begin(listed: ["upstream.a": ["tool:say"], "upstream.b": ["tool:say"]], rank: ranks)

        front1.begin(listed: ["upstream.b": ["tool:say"]], rank: ranks)
        XCTAssertTrue(front1.admit("tool", "say", source: "upstream.b"), "the only source so far serves it")
        front1.begin(listed: ["upstream.b": ["tool:say"], "upstream.a": ["tool:say"]], rank: ranks)
        for front in [front0, front1] {
            XCTAssertEqual(front.owner(of: "tool:say"), "upstream.a")
            XCTAssertFalse(front.admit("tool", "say", source: "upstream.b"))
            XCTAssertTrue(front.admit("tool", "say", source: "upstream.a"))
        }
    }

    /// An `--executor-cmd` executor outranks an upstream that listed the name before it.
    func testAnExecutorOutranksAnUpstreamThatListedTheNameFirst() {
        let owners = CatalogOwners()
        owners.begin(listed: ["upstream.a": ["tool:echo"]], rank: ranks)
        XCTAssertTrue(owners.admit("tool", "echo", source: "upstream.a"))
        owners.begin(listed: ["upstream.a": ["tool:echo"], "ext": ["tool:echo"]], rank: ranks)
        XCTAssertFalse(owners.admit("tool", "echo", source: "upstream.a"))
        XCTAssertTrue(owners.admit("tool", "echo", source: "ext"))
        XCTAssertEqual(owners.owner(of: "tool:echo"), "ext")
    }

    func testAnOwnerRestartingKeepsItsNamesAndOneThatDropsANameGivesItUp() {
        let owners = CatalogOwners()
        owners.begin(listed: ["upstream.a": ["tool:say"]], rank: ranks)
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.a"))
        // a's bridge restarts (no ready link): b, ranked after it, cannot take the name meanwhile
        owners.begin(listed: ["upstream.b": ["tool:say"]], rank: ranks)
        XCTAssertFalse(owners.admit("tool", "say", source: "upstream.b"))
        // a is back and no longer lists it: b may have it now, and the old conflict is forgotten
        owners.begin(listed: ["upstream.a": [], "upstream.b": ["tool:say"]], rank: ranks)
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.b"))
        XCTAssertTrue(owners.reported.isEmpty)
    }

    func testReportedConflictsAreForgottenOnceTheyNoLongerHold() {
        let owners = CatalogOwners()
        for i in 0..<50 {
            let key = "tool:t\(i)"
            owners.begin(listed: ["upstream.a": [key], "upstream.b": [key]], rank: ranks)
            XCTAssertTrue(owners.admit("tool", "t\(i)", source: "upstream.a"))
            XCTAssertFalse(owners.admit("tool", "t\(i)", source: "upstream.b"))
            XCTAssertEqual(owners.conflicts.count, 1)
        }
        owners.begin(listed: ["upstream.a": ["tool:t49"], "upstream.b": ["tool:t49"]], rank: ranks)
        XCTAssertEqual(owners.reported.count, 1)
    }

    func testReplicasAndExecutorsWithoutUpstreamsMergeAsBefore() {
        let owners = CatalogOwners()
        owners.begin(listed: ["swift": ["tool:echo"], "ext": ["tool:echo"]], rank: ranks)
        XCTAssertTrue(owners.admit("tool", "echo", source: "swift"))
        XCTAssertTrue(owners.admit("tool", "echo", source: "swift"))
        XCTAssertTrue(owners.admit("tool", "echo", source: "ext"))
        XCTAssertFalse(owners.admit("tool", "echo", source: "upstream.x"))
        // Kinds are apart: a prompt may share a tool's name.
        XCTAssertTrue(owners.admit("prompt", "echo", source: "upstream.x"))
        XCTAssertEqual(owners.conflicts.count, 1)
    }
}
