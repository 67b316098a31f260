import FoundationEssentials
import MCPCore
import WireProtocol
import XCTest

/// The protocol's additions for MCP completeness: REQUEST/RESPONSE/CATALOG frames, the full
/// READY catalog, the CALL meta context object and CALL kind 4.
final class CatalogAndContextTests: XCTestCase {
    func testExtraFrameTypesAreNotFrameTypesAndRoundTrip() throws {
        for t in ExtraFrameType.allCases {
            XCTAssertNil(FrameType(rawValue: t.rawValue), "\(t) must stay outside FrameType")
            let bytes = Frame.encode(t, stream: 9, payload: Array("{}".utf8))
            let (h, range) = try XCTUnwrap(try bytes.withUnsafeBytes { try FrameParser.next($0) })
            XCTAssertNil(h.type)
            XCTAssertEqual(h.extraType, t)
            XCTAssertEqual(h.stream, 9)
            XCTAssertEqual(Array(bytes[range]), Array("{}".utf8))
        }
        XCTAssertEqual(ExtraFrameType.request.rawValue, 0x16)
        XCTAssertEqual(ExtraFrameType.response.rawValue, 0x17)
        XCTAssertEqual(ExtraFrameType.catalog.rawValue, 0x18)
        XCTAssertEqual(Frame.encode(.ping, stream: 1, payload: [1]),
                       FrameHeader(type: .ping, stream: 1, length: 1).bytes + [1])
    }

    func testReadyCarriesTheWholeCatalog() throws {
        let catalog = Catalog(
            tools: [.init(key: "echo", json: Array(#"{"inputSchema":{"type":"object"},"name":"echo"}"#.utf8))],
            resources: [.init(key: "test://a", json: Array(#"{"name":"a","uri":"test://a"}"#.utf8))],
            resourceTemplates: [.init(key: "test://t/{id}",
                                      json: Array(#"{"name":"t","uriTemplate":"test://t/{id}"}"#.utf8))],
            prompts: [.init(key: "p", json: Array(#"{"description":"d","name":"p"}"#.utf8))],
            completions: true, subscriptions: true)
        let ready = Ready(executor: "x", pid: 1, zstd: false, maxConcurrency: 4, catalog: catalog)
        let text = String(decoding: ready.encoded(), as: UTF8.self)
        XCTAssertTrue(text.contains(#""resourceTemplates":[{"name":"t","uriTemplate":"test://t/{id}"}]"#), text)
        XCTAssertTrue(text.hasSuffix(#""completions":true,"subscriptions":true}"#), text)
        let back = try Ready.decode(ready.encoded())
        XCTAssertEqual(back.catalog, catalog)
        XCTAssertEqual(back.tools.map(\.name), ["echo"])
        XCTAssertEqual(try Catalog.decode(catalog.encoded()), catalog)
    }

    func testOldReadyWithoutNewMembersDecodes() throws {
        let old = #"{"version":1,"executor":"e","maxConcurrency":2,"#
            + #""tools":[{"name":"a","inputSchema":{"type":"object"}}],"resources":[],"prompts":[]}"#
        let r = try Ready.decode(Array(old.utf8))
        XCTAssertEqual(r.tools.map(\.name), ["a"])
        XCTAssertFalse(r.catalog.completions)
        XCTAssertEqual(r.catalog.resourceTemplates, [])
        XCTAssertThrowsError(try Catalog.decode(Array(#"{"prompts":[{"title":"no name"}]}"#.utf8)))
    }

    func testCallContextDecodeRules() throws {
        // Empty meta: a legacy call with nothing known.
        XCTAssertEqual(try CallContext.decode([]), CallContext())
        // An older front's bare `_meta`.
        let bare = try CallContext.decode(Array(#"{"progressToken":"t1"}"#.utf8))
        XCTAssertEqual(bare.era, .legacy)
        XCTAssertEqual(bare.progressToken, .string("t1"))
        XCTAssertEqual(bare.requestMeta, .object(["progressToken": .string("t1")]))
        // The full object, unknown members ignored.
        let full = #"{"_meta":{"progressToken":7},"era":"modern","protocolVersion":"2026-07-28","#
            + #""clientCapabilities":{"sampling":{}},"logLevel":"info","inputResponses":{"k":{"action":"accept"}},"#
            + #""requestState":"abc","future":1}"#
        let c = try CallContext.decode(Array(full.utf8))
        XCTAssertEqual(c.era, .modern)
        XCTAssertEqual(c.progressToken, .number(7))
        XCTAssertEqual(c.protocolVersion, "2026-07-28")
        XCTAssertEqual(c.clientCapabilities, .object(["sampling": .object([:])]))
        XCTAssertEqual(c.logLevel, "info")
        XCTAssertEqual(c.inputResponses?["k"]?["action"], .string("accept"))
        XCTAssertEqual(c.requestState, "abc")
        XCTAssertEqual(try CallContext.decode(c.encoded()), c)
        // inputResponses: null is kept as sent, for the SDK to reject.
        XCTAssertEqual(try CallContext.decode(Array(#"{"era":"modern","inputResponses":null}"#.utf8)).inputResponses,
                       .null)
        // Not an object, or known members of the wrong type.
        XCTAssertThrowsError(try CallContext.decode(Array("[1]".utf8)))
        XCTAssertThrowsError(try CallContext.decode(Array("{".utf8)))
        XCTAssertThrowsError(try CallContext.decode(Array(#"{"era":"future"}"#.utf8)))
        XCTAssertThrowsError(try CallContext.decode(Array(#"{"era":"modern","requestState":5}"#.utf8)))
        // Nested objects stay bytes until read, but are checked when decoded.
        XCTAssertThrowsError(try CallContext.decode(Array(#"{"era":"legacy","_meta":{"x":[1,}}"#.utf8)))
        XCTAssertThrowsError(try CallContext.decode(Array(#"{"era":"legacy","clientCapabilities":5}"#.utf8))) { e in
            XCTAssertEqual(e as? CallContext.DecodeError, .badMember("clientCapabilities"))
        }
        // The cancel key, and the first of duplicate members (as everywhere else).
        let k = try CallContext.decode(
            Array(#"{"era":"legacy","cancelKey":"ab12","requestId":"r1","requestId":"r2"}"#.utf8))
        XCTAssertEqual(k.cancelKey, "ab12")
        XCTAssertEqual(k.requestId, "r1")
        XCTAssertEqual(try CallContext.decode(k.encoded()), k)
        // Keys are matched as bytes, but an escaped key is still the key it spells; a key of
        // the right length that is not a known one is ignored; string values may be escaped.
        let e = try CallContext.decode(
            Array(#"{"er\u0061":"modern","requestJd":"x","logLevel":"w\u0061rn","traceparent" : "t"}"#.utf8))
        XCTAssertEqual(e.era, .modern)
        XCTAssertNil(e.requestId)
        XCTAssertEqual(e.logLevel, "warn")
        XCTAssertEqual(e.traceparent, "t")
        XCTAssertThrowsError(try CallContext.decode(Array(#"{"era":"legacy","requestId":"a" "b"}"#.utf8)))
        XCTAssertThrowsError(try CallContext.decode(Array(#"{"era":"legacy","requestI\u0064":["r"]}"#.utf8))) { e in
            XCTAssertEqual(e as? CallContext.DecodeError, .badMember("requestId"))
        }
    }

    func testCompletionCallKind() throws {
        let params = #"{"argument":{"name":"arg1","value":"te"},"ref":{"name":"p","type":"ref/prompt"}}"#
        let p = CallPayload(kind: .completion, name: "", meta: [], arguments: Array(params.utf8))
        let back = try p.encoded().withUnsafeBytes { try CallPayload.decode($0) }
        XCTAssertEqual(back.knownKind, .completion)
        XCTAssertEqual(back.kind, 4)
        XCTAssertEqual(back.nameString, "")
        XCTAssertEqual(String(decoding: back.arguments, as: UTF8.self), params)
    }
}

/// The golden vectors added with the call context and the new frames decode with the Swift types.
final class NewVectorTests: XCTestCase {
    func vector(_ name: String) throws -> [UInt8] {
        let path = GoldenVectorTests.vectorsDir + "/index.json"
        let index = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        guard case .array(let list) = index,
              let e = list.first(where: { $0["name"] == .string(name) }), let file = e["file"]?.stringValue else {
            throw XCTSkip("no vector \(name)")
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: GoldenVectorTests.vectorsDir + "/" + file)))
        return Array(bytes[FrameHeader.size...])
    }

    func testFullReadyAndCatalogVectors() throws {
        let ready = try Ready.decode(try vector("ready-full-catalog"))
        XCTAssertEqual(ready.catalog.resources.map(\.key), ["test://static-text"])
        XCTAssertEqual(ready.catalog.resourceTemplates.map(\.key), ["test://template/{id}/data"])
        XCTAssertEqual(ready.catalog.prompts.map(\.key), ["greet"])
        XCTAssertTrue(ready.catalog.completions && ready.catalog.subscriptions)
        let catalog = try Catalog.decode(try vector("catalog"))
        XCTAssertEqual(catalog.tools.map(\.key), ["echo", "add"])
        XCTAssertEqual(catalog.prompts.map(\.key), ["greet", "farewell"])
    }

    func testCallVectorsCarryContextObjects() throws {
        for (name, kind, era) in [("call-resource", 2, CallContext.Era.modern), ("call-prompt", 3, .legacy),
                                  ("call-completion", 4, .modern), ("call-mrtr-retry", 1, .modern),
                                  ("call-with-meta", 1, .legacy)] {
            let call = try try vector(name).withUnsafeBytes { try CallPayload.decode($0) }
            XCTAssertEqual(Int(call.kind), kind, name)
            XCTAssertEqual(try CallContext.decode(call.meta).era, era, name)
        }
        let retryCall = try vector("call-mrtr-retry").withUnsafeBytes { try CallPayload.decode($0) }
        let retry = try CallContext.decode(retryCall.meta)
        XCTAssertEqual(retry.inputResponses?["user_name"]?["content"]?["name"], .string("Alice"))
        XCTAssertEqual(retry.requestState, "eyJ2IjoxfQ")
        let legacyCall = try vector("call-with-meta").withUnsafeBytes { try CallPayload.decode($0) }
        let legacy = try CallContext.decode(legacyCall.meta)
        XCTAssertEqual(legacy.progressToken, .string("tok-2"))
    }
}
