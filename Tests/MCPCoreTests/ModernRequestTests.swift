import MCPCore
import XCTest

/// Header values of the 2026-07-28 revision (Mcp-Name): trimmed, and `=?base64?...?=` decoded.
final class HeaderValueTests: XCTestCase {
    func testPlainValuesAreTrimmedOnly() {
        XCTAssertEqual(ModernRequest.decodeHeaderValue("echo"), "echo")
        XCTAssertEqual(ModernRequest.decodeHeaderValue(" \techo tool\t "), "echo tool")
        XCTAssertEqual(ModernRequest.decodeHeaderValue("  "), "")
        XCTAssertEqual(ModernRequest.decodeHeaderValue("ünïcode"), "ünïcode")
        XCTAssertEqual(ModernRequest.decodeHeaderValue("=?base64?="), "=?base64?=", "too short to be the encoded form")
        XCTAssertEqual(ModernRequest.decodeHeaderValue("=?base64?ZWNobw=="), "=?base64?ZWNobw==", "no closing ?=")
    }

    func testBase64FormIsDecoded() {
        XCTAssertEqual(ModernRequest.decodeHeaderValue("=?base64?ZWNobw==?="), "echo")
        XCTAssertEqual(ModernRequest.decodeHeaderValue(" =?base64?w7xuw69jb2Rl?= "), "ünïcode")
        XCTAssertEqual(ModernRequest.decodeHeaderValue("=?base64??="), "")
        XCTAssertNil(ModernRequest.decodeHeaderValue("=?base64?abc?="), "not a multiple of 4")
        XCTAssertNil(ModernRequest.decodeHeaderValue("=?base64?ab*d?="), "not base64")
        XCTAssertNil(ModernRequest.decodeHeaderValue("=?base64?/w==?="), "decodes to bytes that are not UTF-8")
    }
}

/// `_meta` of a stateless request: only what validation reads is decoded, first duplicate wins.
final class KnownMetaTests: XCTestCase {
    func knownMeta(_ s: String) -> ModernRequest.Meta? {
        Array(s.utf8).withUnsafeBytes { ModernRequest.knownMeta($0) }
    }

    func testKeepsTheValidatedMembersOnly() {
        let json = #"{"io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"#
            + #""io.modelcontextprotocol/protocolVersion":"2026-07-28","#
            + #""io.modelcontextprotocol/clientCapabilities":{"sampling":{}},"#
            + #""io.modelcontextprotocol/logLevel":"debug","#
            + #""io.modelcontextprotocol/protocolVersion":"1999-01-01","progressToken":5}"#
        let m = knownMeta(json)
        XCTAssertEqual(m, ModernRequest.Meta(protocolVersion: .string("2026-07-28"),
                                             clientCapabilities: .object(["sampling": .object([:])]),
                                             logLevel: .string("debug")))
        // The same members as decoding the whole object and reading the keys validation uses.
        XCTAssertEqual(m, ModernRequest.Meta(try? JSONValue.parse(Array(json.utf8))))
        XCTAssertEqual(knownMeta("{}"), ModernRequest.Meta())
        XCTAssertNil(knownMeta("[1]"))
        XCTAssertNil(knownMeta(#"{"a":}"#))
    }
}
