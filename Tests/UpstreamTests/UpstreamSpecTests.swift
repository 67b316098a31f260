import MCPCore
@testable import Upstream
import XCTest

final class UpstreamSpecTests: XCTestCase {
    func testOptionRunsTheCommandThroughTheShell() throws {
        let s = try UpstreamSpec.parse(option: "files=python3 server.py --root '/a b'", pool: 3)
        XCTAssertEqual(s.name, "files")
        XCTAssertEqual(s.argv, ["/bin/sh", "-c", "exec python3 server.py --root '/a b'"])
        XCTAssertEqual(s.pool, 3)
        XCTAssertNil(s.url)
    }

    func testOptionWithAURLIsRemote() throws {
        let s = try UpstreamSpec.parse(option: "docs=http://127.0.0.1:9000/mcp", pool: 2)
        XCTAssertEqual(s.url, "http://127.0.0.1:9000/mcp")
        XCTAssertEqual(RemoteEndpoint(s.url!), RemoteEndpoint("http://127.0.0.1:9000/mcp"))
        XCTAssertEqual(RemoteEndpoint("https://[::1]/x")?.port, 443)
        XCTAssertNil(RemoteEndpoint("ftp://x/"))
        XCTAssertNil(RemoteEndpoint("http://:80/"))
    }

    func testBadOptionsAreRefusedWithTheReason() {
        for (option, words) in [("nocommand", "NAME=COMMAND"), ("bad name=ls", "must be 1-32"), ("x=", "empty command"),
                                ("x=http://", "not an http")] {
            XCTAssertThrowsError(try UpstreamSpec.parse(option: option, pool: 1)) { e in
                XCTAssertTrue("\(e)".contains(words), "\(option): \(e)")
            }
        }
    }

    func testConfigMemberAndItsRoundTripThroughTheBridgeEnvironment() throws {
        let v = try JSONValue.parse(Array("""
            {"command":"python3","args":["s.py"],"env":{"TOKEN":"t"},"cwd":"/tmp","pool":4,"maxConcurrency":2,
             "timeoutMs":1500,"prefix":"gh_","mode":"per-session"}
            """.utf8))
        let s = try UpstreamSpec.parse(name: "gh", config: v, pool: 2)
        XCTAssertEqual(s.argv, ["python3", "s.py"])
        XCTAssertEqual(s.environment, ["TOKEN": "t"])
        XCTAssertEqual(s.mode, .perSession)
        XCTAssertEqual(s.pool, 4)
        XCTAssertEqual(try UpstreamSpec.decode(Array(s.json.compactJSON().utf8)), s)
    }

    /// The bridge's spec (SWITCHYARD_UPSTREAM) with a negative, fractional or huge number is
    /// refused with an error, never a trap.
    func testADecodedSpecWithABadNumberIsRefused() {
        for bad in ["-1", "1.5", "1e300", "-1e14"] {
            let text = #"{"name":"u","argv":["x"],"timeoutMs":\#(bad)}"#
            XCTAssertThrowsError(try UpstreamSpec.decode(Array(text.utf8)), bad) { e in
                XCTAssertTrue("\(e)".contains("'timeoutMs' must be a whole number"), "\(e)")
            }
        }
    }

    func testConfigMistakesAreNamed() throws {
        for (text, words) in [("{\"args\":[]}", "needs 'command'"), ("{\"command\":\"x\",\"mode\":\"solo\"}", "mode"),
                              ("{\"command\":\"x\",\"pool\":0}", "pool must be"),
                              ("{\"command\":\"x\",\"colour\":1}", "unknown key 'colour'"),
                              ("{\"command\":\"x\",\"env\":{\"A\":1}}", "'env' must be")] {
            let v = try JSONValue.parse(Array(text.utf8))
            XCTAssertThrowsError(try UpstreamSpec.parse(name: "u", config: v, pool: 1)) { e in
                XCTAssertTrue("\(e)".contains(words), "\(text): \(e)")
            }
        }
    }

    func testLinesDecodeByShape() {
        func decode(_ s: String) -> JSONRPCLines.Message {
            Array(s.utf8).withUnsafeBytes { JSONRPCLines.decode($0) }
        }
        if case .response(let id, .result) = decode(#"{"jsonrpc":"2.0","id":7,"result":{}}"#) { XCTAssertEqual(id, 7) }
        else { XCTFail("response") }
        if case .request(_, let m, _) = decode(#"{"jsonrpc":"2.0","id":"a","method":"elicitation/create"}"#) {
            XCTAssertEqual(m, "elicitation/create")
        } else { XCTFail("request") }
        if case .notification(let m, _) = decode(#"{"jsonrpc":"2.0","method":"notifications/progress"}"#) {
            XCTAssertEqual(m, "notifications/progress")
        } else { XCTFail("notification") }
        if case .garbage = decode("hello world") {} else { XCTFail("garbage") }
        if case .garbage = decode(#"{"id":1,"result":{}}"#) {} else { XCTFail("no jsonrpc member") }
        if case .response(_, .error(let code, let message, _)) =
            decode(#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}"#) {
            XCTAssertEqual(code, -32602); XCTAssertEqual(message, "bad")
        } else { XCTFail("error") }
    }
}
