@testable import FrontTier
import MCPCore
import Security
import XCTest

/// Authentication and authorization as stages of the real pipeline (in-memory connections):
/// 401 challenges, 400 for malformed credentials, 403 insufficient_scope with the scopes to
/// step up to, sessions bound to the principal that created them (POST, GET and DELETE), and
/// the protected-resource metadata document. The authenticator here is a table of tokens: the
/// JWT and API-key verifiers are tested on their own (SecurityTests) and end to end (Integration).
final class PipelineAccessTests: XCTestCase {
    final class TableAuthenticator: BearerAuthenticator {
        var principals: [String: Principal] = [:]
        func authenticate(bearer token: String, now: UInt64) -> Result<Principal, AuthFailure> {
            principals[token].map(Result.success) ?? .failure(AuthFailure(.invalidToken, "unknown token"))
        }
    }

    let metadataURL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    let alice = Principal(subject: "alice", clientId: "ide", scopes: ["mcp:tools"], method: .oauth)
    let aliceAdmin = Principal(subject: "alice", clientId: "ide", scopes: ["mcp:tools", "tools:admin"], method: .oauth)
    let bob = Principal(subject: "bob", scopes: ["mcp:tools", "tools:admin"], method: .oauth)

    func harness() -> PipelineHarness {
        let auth = TableAuthenticator()
        auth.principals = ["alice-token": alice, "alice-admin-token": aliceAdmin, "bob-token": bob]
        let policy = Policy(defaultScopes: ["mcp:tools"],
                            tools: ["sha256": .init(scopes: ["tools:admin"]),
                                    "bob_only": .init(scopes: [], principals: ["bob"])],
                            prompts: ["secret_prompt": .init(scopes: ["tools:admin"])],
                            resources: ["file:///private/": .init(scopes: ["tools:admin"])])
        var o = PipelineHarness.defaultOptions
        o.access = AccessSettings(authenticator: auth, policy: policy, issuer: "https://auth.example.com",
                                  audience: "https://mcp.example.com/mcp")
        return PipelineHarness(options: o)
    }

    func bearer(_ token: String) -> String { "Authorization: Bearer \(token)" }

    func testNoCredentialsGet401WithTheMetadataURL() {
        let h = harness()
        h.client.send(MCP.post(MCP.request(id: 1, method: "initialize", params: MCP.initializeParams("2025-11-25"))))
        let a = h.client.takeAnswers()
        XCTAssertEqual(a.map(\.status), [401])
        XCTAssertEqual(a.first?.headers["www-authenticate"],
                       "Bearer resource_metadata=\"\(metadataURL)\", scope=\"mcp:tools\"")
        XCTAssertEqual(a.first?.message?["id"], .number(1))
        XCTAssertEqual(a.first?.message?["error"]?["code"], .number(-32600))
    }

    func testBadAndMalformedCredentials() {
        let h = harness()
        let cases: [(String, Int, String?)] = [
            ("Authorization: Bearer forged", 401, "invalid_token"),
            ("Authorization: Basic YWxpY2U6cHc=", 401, nil), // another scheme: a bare challenge
            ("Authorization: Bearer", 400, "invalid_request"),
            ("Authorization: Bearer a b", 400, "invalid_request"),
            ("Authorization: Bearer ab=c", 400, "invalid_request"),
        ]
        for (header, status, error) in cases {
            h.client.send(MCP.post(MCP.request(id: 2, method: "tools/list"), headers: [header,
                                   "MCP-Protocol-Version: 2025-11-25"]))
            let a = h.client.takeAnswers()
            XCTAssertEqual(a.map(\.status), [status], header)
            let challenge = a.first?.headers["www-authenticate"] ?? ""
            if let error {
                XCTAssertTrue(challenge.hasPrefix("Bearer error=\"\(error)\""), "\(header): \(challenge)")
            } else {
                XCTAssertFalse(challenge.contains("error="), "\(header): \(challenge)")
            }
            XCTAssertTrue(challenge.contains("resource_metadata=\"\(metadataURL)\""), challenge)
        }
    }

    func testTwoAuthorizationHeadersAreRefused() {
        let h = harness()
        h.client.send(MCP.post(MCP.request(id: 3, method: "ping"), headers: [bearer("alice-token"),
                               bearer("bob-token")]))
        XCTAssertEqual(h.client.takeAnswers().map(\.status), [400])
    }

    func testInsufficientScopeNamesTheScopesToStepUpTo() {
        let h = harness()
        let sid = h.initialize(headers: [bearer("alice-token")])
        XCTAssertFalse(sid.isEmpty)
        let call = MCP.request(id: 4, method: "tools/call", params: #"{"name":"sha256","arguments":{"text":"x"}}"#)
        h.client.send(MCP.post(call, headers: [bearer("alice-token"), "Mcp-Session-Id: \(sid)"]))
        let a = h.client.takeAnswers()
        XCTAssertEqual(a.map(\.status), [403])
        XCTAssertEqual(a.first?.headers["www-authenticate"],
                       "Bearer error=\"insufficient_scope\", scope=\"tools:admin\", resource_metadata=\"\(metadataURL)\""
                       + ", error_description=\"the token lacks a scope this needs\"")
        XCTAssertEqual(a.first?.message?["id"], .number(4))
        // Stepped up: the same principal with a wider token keeps its session; the call passes
        // authorization (and, with no executor here, is refused as an unknown tool after it).
        h.client.send(MCP.post(call, headers: [bearer("alice-admin-token"), "Mcp-Session-Id: \(sid)"]))
        XCTAssertNotEqual(h.client.takeAnswers().first?.status, 403)
        // An item limited to other principals: 403 without a challenge (no scope helps).
        let other = MCP.request(id: 5, method: "tools/call", params: #"{"name":"bob_only"}"#)
        h.client.send(MCP.post(other, headers: [bearer("alice-admin-token"), "Mcp-Session-Id: \(sid)"]))
        let b = h.client.takeAnswers()
        XCTAssertEqual(b.map(\.status), [403])
        XCTAssertNil(b.first?.headers["www-authenticate"])
    }

    func testASessionServesOnlyThePrincipalThatMadeIt() {
        let h = harness()
        let sid = h.initialize(headers: [bearer("alice-token")])
        let ping = MCP.request(id: 6, method: "ping")
        h.client.send(MCP.post(ping, headers: [bearer("alice-token"), "Mcp-Session-Id: \(sid)"]))
        XCTAssertEqual(h.client.takeAnswers().map(\.status), [200])
        h.client.send(MCP.post(ping, headers: [bearer("bob-token"), "Mcp-Session-Id: \(sid)"]))
        let hijack = h.client.takeAnswers()
        XCTAssertEqual(hijack.map(\.status), [403])
        XCTAssertEqual(hijack.first?.message?["error"]?["message"],
                       .string("Forbidden: the session belongs to another principal"))
        // The stream and DELETE of the session are refused to bob too, and allowed to alice.
        let c = h.connect()
        c.send(MCP.get(session: sid, headers: [bearer("bob-token")]))
        XCTAssertEqual(c.takeAnswers().map(\.status), [403])
        c.send("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: \(sid)\r\n\(bearer("bob-token"))\r\n\r\n")
        XCTAssertEqual(c.takeAnswers().map(\.status), [403])
        c.send("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: \(sid)\r\n\r\n")
        XCTAssertEqual(c.takeAnswers().map(\.status), [401])
        c.send("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: \(sid)\r\n\(bearer("alice-token"))\r\n\r\n")
        XCTAssertEqual(c.takeAnswers().map(\.status), [200])
    }

    func testProtectedResourceMetadataIsPublic() throws {
        let h = harness()
        for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
            h.client.send("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let a = h.client.takeAnswers()
            XCTAssertEqual(a.map(\.status), [200], path)
            let doc = try XCTUnwrap(a.first?.message, path)
            XCTAssertEqual(doc["resource"], .string("https://mcp.example.com/mcp"))
            XCTAssertEqual(doc["authorization_servers"], .array([.string("https://auth.example.com")]))
            XCTAssertEqual(doc["scopes_supported"], .array([.string("mcp:tools"), .string("tools:admin")]))
            XCTAssertEqual(doc["bearer_methods_supported"], .array([.string("header")]))
        }
    }

    func testWithoutAccessSettingsNothingIsAsked() {
        let h = PipelineHarness()
        h.client.send(MCP.post(MCP.request(id: 1, method: "initialize", params: MCP.initializeParams("2025-11-25"))))
        XCTAssertEqual(h.client.takeAnswers().map(\.status), [200])
        h.client.send("GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: localhost\r\n\r\n")
        XCTAssertEqual(h.client.takeAnswers().map(\.status), [404])
    }

    /// A flood of forged tokens from one address stops costing verifications: past 32 failures
    /// in a second it is answered 429 without a check; another address, and a valid token from
    /// it, are not affected.
    func testFailedCredentialsAreThrottledPerAddress() {
        let h = harness()
        var now: UInt64 = 1_000
        h.services.access!.now = { now }
        let attacker = h.connect()
        attacker.connection.peerAddress = "192.0.2.66"
        let ping = MCP.request(id: 9, method: "ping")
        var statuses: [Int] = []
        for i in 0..<40 {
            attacker.send(MCP.post(ping, headers: [bearer("forged-\(i)")]))
            statuses += attacker.takeAnswers().map(\.status)
        }
        // A connection whose address is unknown is never throttled: one shared bucket would let
        // any client lock every other out.
        let unknown = h.connect()
        for i in 0..<40 {
            unknown.send(MCP.post(ping, headers: [bearer("forged-u\(i)")]))
            XCTAssertEqual(unknown.takeAnswers().map(\.status), [401])
        }
        XCTAssertEqual(statuses.filter { $0 == 401 }.count, PipelineAccessTests.limit)
        XCTAssertEqual(statuses.filter { $0 == 429 }.count, 40 - PipelineAccessTests.limit)
        attacker.send(MCP.post(ping, headers: [bearer("forged-x")]))
        XCTAssertEqual(attacker.takeAnswers().first?.headers["retry-after"], "1")
        let other = h.connect()
        other.connection.peerAddress = "192.0.2.7"
        other.send(MCP.post(MCP.request(id: 1, method: "initialize", params: MCP.initializeParams("2025-11-25")),
                            headers: [bearer("alice-token")]))
        XCTAssertEqual(other.takeAnswers().map(\.status), [200])
        now += 1 // the next second: checked again
        attacker.send(MCP.post(ping, headers: [bearer("forged-y")]))
        XCTAssertEqual(attacker.takeAnswers().map(\.status), [401])
    }

    /// `completion/complete` runs the completion code of the prompt or template it names: the
    /// policy of that item applies.
    func testCompletionIsCheckedAgainstTheItemsPolicy() {
        let h = harness()
        let sid = h.initialize(headers: [bearer("alice-token")])
        func complete(_ ref: String, _ token: String) -> Int? {
            let params = #"{"ref":\#(ref),"argument":{"name":"x","value":""}}"#
            h.client.send(MCP.post(MCP.request(id: 12, method: "completion/complete", params: params),
                                   headers: [bearer(token), "Mcp-Session-Id: \(sid)"]))
            return h.client.takeAnswers().first?.status
        }
        XCTAssertEqual(complete(#"{"type":"ref/prompt","name":"secret_prompt"}"#, "alice-token"), 403)
        XCTAssertEqual(complete(#"{"type":"ref/prompt","name":"open_prompt"}"#, "alice-token"), 200)
        XCTAssertEqual(complete(#"{"type":"ref/prompt","name":"secret_prompt"}"#, "alice-admin-token"), 200)
    }

    /// `subscriptions/listen` honors only the resources the caller may read, and says so in
    /// its acknowledgement.
    func testListenHonorsOnlyReadableResources() throws {
        let h = harness()
        let meta = "{\"io.modelcontextprotocol/protocolVersion\":\"\(MCP.stateless)\","
            + "\"io.modelcontextprotocol/clientCapabilities\":{}}"
        let params = "{\"_meta\":\(meta),\"notifications\":{\"resourceSubscriptions\":"
            + "[\"file:///public/a\",\"file:///private/b\"]}}"
        h.client.send(MCP.post(MCP.request(id: 3, method: "subscriptions/listen", params: params),
                               headers: MCP.statelessHeaders(method: "subscriptions/listen") + [bearer("alice-token")]))
        let text = String(decoding: h.client.stream.written, as: UTF8.self)
        XCTAssertTrue(text.contains("file:///public/a"), text)
        XCTAssertFalse(text.contains("file:///private/b"), text)
    }

    static let limit = AccessControl.failuresPerSecond
}
