@testable import FrontTier
import XCTest

/// Run-time name conflicts with upstreams: the first source keeps a name, a later upstream's
/// entry is refused (reported once), replicas of one source and non-upstream sources merge.
final class CatalogOwnersTests: XCTestCase {
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

    func testALaterUpstreamIsRefusedOnceAndTheOwnerKeepsTheName() {
        let owners = CatalogOwners()
        owners.begin(listed: ["upstream.a": ["tool:say"], "upstream.b": ["tool:say", "tool:add_say"]])
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.a"))
        XCTAssertTrue(owners.admit("tool", "add_say", source: "upstream.b"))
        XCTAssertFalse(owners.admit("tool", "say", source: "upstream.b"))
        XCTAssertEqual(owners.conflicts.map(\.owner), ["upstream.a"])
        XCTAssertEqual(owners.conflicts.map(\.refused), ["upstream.b"])
        // The next rebuild, in another link order: still a's, and not reported again.
        owners.begin(listed: ["upstream.a": ["tool:say"], "upstream.b": ["tool:say", "tool:add_say"]])
        XCTAssertFalse(owners.admit("tool", "say", source: "upstream.b"))
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.a"))
        XCTAssertTrue(owners.conflicts.isEmpty)
    }

    func testAnOwnerRestartingKeepsItsNamesAndOneThatDropsANameGivesItUp() {
        let owners = CatalogOwners()
        owners.begin(listed: ["upstream.a": ["tool:say"]])
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.a"))
        // a's bridge restarts (no ready link): b cannot take the name meanwhile
        owners.begin(listed: ["upstream.b": ["tool:say"]])
        XCTAssertFalse(owners.admit("tool", "say", source: "upstream.b"))
        // a is back and no longer lists it: b may have it now
        owners.begin(listed: ["upstream.a": [], "upstream.b": ["tool:say"]])
        XCTAssertTrue(owners.admit("tool", "say", source: "upstream.b"))
    }

    func testReplicasAndExecutorsWithoutUpstreamsMergeAsBefore() {
        let owners = CatalogOwners()
        owners.begin(listed: ["swift": ["tool:echo"], "ext": ["tool:echo"]])
        XCTAssertTrue(owners.admit("tool", "echo", source: "swift"))
        XCTAssertTrue(owners.admit("tool", "echo", source: "swift"))
        XCTAssertTrue(owners.admit("tool", "echo", source: "ext"))
        XCTAssertFalse(owners.admit("tool", "echo", source: "upstream.x"))
        // Kinds are apart: a prompt may share a tool's name.
        XCTAssertTrue(owners.admit("prompt", "echo", source: "upstream.x"))
        XCTAssertEqual(owners.conflicts.count, 1)
    }
}
