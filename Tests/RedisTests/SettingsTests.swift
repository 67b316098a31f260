@testable import Redis
import XCTest

/// RedisSettings: URLs and lists parsed, bad ones refused with a clear message, the password
/// never in `redacted`.
final class SettingsTests: XCTestCase {
    func testParsesURL() throws {
        let s = try RedisSettings.parse(url: "redis://alice:s%40cret@127.0.0.1:6380/3")
        XCTAssertEqual(s.topology, .single(RedisEndpoint(host: "127.0.0.1", port: 6380)))
        XCTAssertEqual(s.username, "alice")
        XCTAssertEqual(s.password, "s@cret")
        XCTAssertEqual(s.database, 3)
        XCTAssertEqual(s.redacted, "redis://alice:***@127.0.0.1:6380/3")
    }

    func testDefaultsAndPasswordOnly() throws {
        let s = try RedisSettings.parse(url: "redis://:pw@cache.internal")
        XCTAssertEqual(s.topology, .single(RedisEndpoint(host: "cache.internal", port: 6379)))
        XCTAssertNil(s.username)
        XCTAssertEqual(s.password, "pw")
        XCTAssertEqual(s.database, 0)
        XCTAssertEqual(s.redacted, "redis://:***@cache.internal:6379/0")
        let v6 = try RedisSettings.parse(url: "redis://[::1]:7000/")
        XCTAssertEqual(v6.topology, .single(RedisEndpoint(host: "::1", port: 7000)))
        XCTAssertEqual(v6.redacted, "redis://[::1]:7000/0")
    }

    func testBadURLsAreRefusedClearly() {
        let cases: [(String, String)] = [
            ("localhost:6379", "expected redis://"),
            ("http://h:1", "unknown scheme"),
            ("rediss://h:1", "TLS"),
            ("redis://h:0", "port must be 1-65535"),
            ("redis://h:70000", "port must be 1-65535"),
            ("redis://h:abc", "port must be 1-65535"),
            ("redis://h:1/x", "database 'x'"),
            ("redis://h:1/-1", "database '-1'"),
            ("redis://user@h:1", "user:password@"),
            ("redis://user:@h:1", "empty password"),
            ("redis://:%zz@h:1", "bad percent escape"),
            ("redis://", "empty address"),
            ("redis://::1:6379", "brackets"),
            ("redis://h:1?db=2", "query strings"),
        ]
        for (url, expected) in cases {
            do {
                _ = try RedisSettings.parse(url: url)
                XCTFail("\(url) was accepted")
            } catch {
                XCTAssertTrue(error.message.contains(expected), "\(url): \(error.message)")
                XCTAssertFalse(error.message.contains("%zz"), "an error echoes the secret: \(error.message)")
            }
        }
    }

    func testSentinelAndClusterLists() throws {
        let s = try RedisSettings.sentinel("10.0.0.1:26379, 10.0.0.2:26379", master: "mymaster", username: "u", password: "p")
        XCTAssertEqual(s.topology, .sentinel([RedisEndpoint(host: "10.0.0.1", port: 26379),
                                              RedisEndpoint(host: "10.0.0.2", port: 26379)], master: "mymaster"))
        XCTAssertFalse(s.redacted.contains("p,") || s.redacted.hasSuffix(" p"))
        XCTAssertTrue(s.redacted.contains("mymaster"))
        let c = try RedisSettings.cluster("a:7000,b:7001", username: nil, password: "secret")
        XCTAssertEqual(c.topology, .cluster([RedisEndpoint(host: "a", port: 7000), RedisEndpoint(host: "b", port: 7001)]))
        XCTAssertFalse(c.redacted.contains("secret"))
        for (list, expected) in [("", "empty list"), ("a:1,,b:2", "empty entry"), ("a:1,a:1", "listed twice"),
                                 ("a", "no port"), ("a:99999", "port must be 1-65535")] {
            XCTAssertThrowsError(try RedisSettings.cluster(list, username: nil, password: nil)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(list): \(error)")
            }
        }
        XCTAssertThrowsError(try RedisSettings.sentinel("a:1", master: " ", username: nil, password: nil)) { error in
            XCTAssertTrue("\(error)".contains("--redis-master"), "\(error)")
        }
    }
}
