import XCTest
@testable import Security

final class PolicyTests: XCTestCase {
    let alice = Principal(subject: "alice", clientId: "ide", scopes: ["mcp:tools", "files:read"], method: .oauth)

    func policy(_ json: String) throws -> Policy { try Policy(json: Array(json.utf8)) }

    func testEntriesReplaceTheDefault() throws {
        let p = try policy(#"{"defaultScopes":["mcp:tools"],"tools":{"sha256":{"scopes":["tools:admin"]}}}"#)
        XCTAssertNil(p.check(alice, .tool, "echo"))
        XCTAssertEqual(p.check(alice, .tool, "sha256"), .insufficientScope(needed: ["tools:admin"]))
        XCTAssertEqual(p.check(Principal(subject: "x", method: .apiKey), .prompt, "any"),
                       .insufficientScope(needed: ["mcp:tools"]))
        XCTAssertEqual(p.scopesSupported, ["mcp:tools", "tools:admin"])
    }

    func testResourcesByLongestPrefix() throws {
        let p = try policy(#"""
            {"resources":{"file:///":{"scopes":["files:read"]},
                          "file:///private/":{"scopes":["files:private"]}}}
            """#)
        XCTAssertNil(p.check(alice, .resource, "file:///readme"))
        XCTAssertEqual(p.check(alice, .resource, "file:///private/key"), .insufficientScope(needed: ["files:private"]))
        XCTAssertNil(p.check(alice, .resource, "mem://x"), "no entry and no default: open")
    }

    func testPrincipalAndClientLists() throws {
        let p = try policy(#"{"prompts":{"review":{"principals":["bob"]},"plan":{"clients":["ide"]}}}"#)
        XCTAssertEqual(p.check(alice, .prompt, "review"), .notAllowed)
        XCTAssertNil(p.check(alice, .prompt, "plan"))
        XCTAssertEqual(p.check(Principal(subject: "bob", method: .apiKey), .prompt, "plan"), .notAllowed)
    }

    func testPrincipalsMayNameTheMethod() throws {
        let p = try policy(#"{"tools":{"deploy":{"principals":["oauth:alice","ci-bot"]}}}"#)
        XCTAssertNil(p.check(alice, .tool, "deploy"))
        XCTAssertEqual(p.check(Principal(subject: "alice", method: .apiKey), .tool, "deploy"), .notAllowed,
                       "an API key named alice is not the token subject alice")
        XCTAssertNil(p.check(Principal(subject: "ci-bot", method: .apiKey), .tool, "deploy"))
    }

    func testErrorsNameTheMember() {
        let bad: [(String, String)] = [
            (#"{"tool":{}}"#, "unknown policy member \"tool\""),
            (#"{"tools":{"a":{"scope":["x"]}}}"#, "tools.a: unknown member \"scope\""),
            (#"{"tools":{"a":{"scopes":"x"}}}"#, "tools.a.scopes must be an array of strings"),
            (#"{"defaultScopes":["a b"]}"#, "defaultScopes: \"a b\" is not a scope"),
            (#"[1]"#, "the policy must be a JSON object"),
            ("{", "the policy is not JSON"),
        ]
        for (json, message) in bad {
            XCTAssertThrowsError(try policy(json), json) { error in
                XCTAssertTrue("\(error)".hasPrefix(message), "\(json): \(error)")
            }
        }
    }
}
