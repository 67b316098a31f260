import XCTest
@testable import Security

final class PrincipalTests: XCTestCase {
    func testScopesAreDeduplicatedInOrder() {
        let p = Principal(subject: "alice", scopes: ["b", "a", "b"], method: .oauth)
        XCTAssertEqual(p.scopes, ["b", "a"])
        XCTAssertTrue(p.has(scopes: ["a"]))
        XCTAssertTrue(p.has(scopes: []))
        XCTAssertFalse(p.has(scopes: ["a", "c"]))
    }

    func testBindingKeyIgnoresScopesButNotMethod() {
        let a = Principal(subject: "alice", scopes: ["x"], method: .oauth)
        let widened = Principal(subject: "alice", scopes: ["x", "admin"], method: .oauth)
        let key = Principal(subject: "alice", method: .apiKey)
        XCTAssertEqual(a.bindingKey, widened.bindingKey)
        XCTAssertNotEqual(a.bindingKey, key.bindingKey)
        XCTAssertTrue(Principal.anonymous.isAnonymous)
    }
}
