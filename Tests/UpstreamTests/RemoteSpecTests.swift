import MCPCore
@testable import Upstream
import XCTest

/// The remote settings of an upstream (headers, caFile, protocol) as the config file gives them,
/// their round trip to the bridge, and the header values the bridge sends.
final class RemoteSpecTests: XCTestCase {
    func config(_ json: String) throws -> UpstreamSpec {
        try UpstreamSpec.parse(name: "r", config: try JSONValue.parse(Array(json.utf8)), pool: 2)
    }

    func testRemoteSettingsRoundTripToTheBridge() throws {
        let s = try config(#"{"url": "https://h/mcp?k=1", "headers": {"Authorization": "Bearer t"}, "caFile": "ca.pem","#
                           + #" "protocol": "2025-11-25", "pool": 8}"#)
        XCTAssertEqual(s.headers, ["Authorization": "Bearer t"])
        XCTAssertEqual(s.caFile, "ca.pem")
        XCTAssertEqual(s.era, "2025-11-25")
        var bytes: [UInt8] = []
        s.json.write(into: &bytes)
        XCTAssertEqual(try UpstreamSpec.decode(bytes), s)
        XCTAssertEqual(RemoteEndpoint.loggable(s.url!), "https://h/mcp")
    }

    func testBadRemoteSettingsAreRefusedWithoutTheirValues() {
        let cases: [(String, String)] = [
            (#"{"url": "https://h/", "headers": {"X": "a\r\nB: c"}}"#, "control characters"),
            (#"{"url": "https://h/", "headers": {"Mcp-Session-Id": "s"}}"#, "set by Switchyard"),
            (#"{"url": "https://h/", "headers": {"a b": "c"}}"#, "not an HTTP token"),
            (#"{"url": "https://h/", "headers": {"A": 1}}"#, "object of strings"),
            (#"{"url": "http://h/", "caFile": "ca.pem"}"#, "needs an https:// URL"),
            (#"{"url": "https://h/", "protocol": "2024-01-01"}"#, "'protocol' is 2025-11-25 or 2026-07-28"),
            (#"{"command": "x", "headers": {"A": "b"}}"#, "are for remote (url) upstreams"),
            (#"{"url": "https://h/", "mode": "per-session"}"#, "shared"),
        ]
        for (json, words) in cases {
            XCTAssertThrowsError(try config(json), json) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(words), "\(json): \(text)")
                XCTAssertFalse(text.contains("B: c"), text)
            }
        }
    }

    func testURLsWithSpacesControlsOrFragmentsAreRefusedWithoutTheirQuery() {
        let bad = ["https://h/a b?token=SECRET", "https://h/a#x?token=SECRET", "https://h/a\u{1}?token=SECRET",
                   "https://h\u{7f}/?token=SECRET", "https://h x/?token=SECRET", "https://h?token=SECRET",
                   "https://[::1 ]/?token=SECRET", "https://h/\u{e9}?token=SECRET"]
        for url in bad {
            XCTAssertNil(RemoteEndpoint(url), url.debugDescription)
            var json: [UInt8] = []
            JSONValue.object(["url": .string(url)]).write(into: &json)
            XCTAssertThrowsError(try config(String(decoding: json, as: UTF8.self)), url.debugDescription) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("is not an http:// or https:// URL"), text)
                XCTAssertFalse(text.contains("SECRET"), text)
                XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }, text.debugDescription)
            }
        }
        for url in ["https://h/mcp?a=b%20c", "http://[::1]:8080/", "http://my_host.example-1:80/p/q"] {
            XCTAssertNotNil(RemoteEndpoint(url), url)
        }
        XCTAssertEqual(RemoteEndpoint.loggable("https://h/p#frag"), "https://h/p")
    }

    func testHeaderValuesOutsidePrintableASCIIUseTheBase64Form() {
        XCTAssertEqual(RemoteUpstream.headerValue("get_weather"), "get_weather")
        XCTAssertEqual(RemoteUpstream.headerValue("café"), "=?base64?Y2Fmw6k=?=")
        XCTAssertEqual(RemoteUpstream.headerValue(" padded"), "=?base64?IHBhZGRlZA==?=")
        XCTAssertEqual(ModernRequest.decodeHeaderValue(RemoteUpstream.headerValue("日本")), "日本")
    }
}
