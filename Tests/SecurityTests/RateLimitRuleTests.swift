import XCTest
@testable import Security

final class RateLimitRuleTests: XCTestCase {
    func testParsesPerSecondAndPerMinute() throws {
        let s = try RateLimitRule(parsing: "echo=5/s")
        XCTAssertEqual(s.tool, "echo")
        XCTAssertEqual(s.count, 5)
        XCTAssertEqual(s.period, .second)
        XCTAssertEqual(s.burst, 5)
        XCTAssertEqual(s.intervalNanoseconds, 200_000_000)
        let m = try RateLimitRule(parsing: "*=120/m")
        XCTAssertNil(m.tool)
        XCTAssertEqual(m.intervalNanoseconds, 500_000_000)
        XCTAssertEqual(m.description, "*=120/m")
    }

    func testRejectsBadTextNamingOptionAndText() {
        for bad in ["echo", "=5/s", "echo=5", "echo=5/h", "echo=0/s", "echo=-1/s", "echo=x/s", "echo=5/s/s",
                    "echo=/s", "echo=2000000/s", "echo= 5/s"] {
            XCTAssertThrowsError(try RateLimitRule(parsing: bad), bad) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("--rate-limit '\(bad)': "), text)
            }
        }
        XCTAssertThrowsError(try RateLimitRule(parsing: "a=1/x", option: "rateLimits")) { error in
            XCTAssertEqual((error as? RateLimitRuleError)?.option, "rateLimits")
        }
    }

    func testExactToolBeatsDefaultAndNoRuleIsUnlimited() throws {
        let rules = try RateLimits(parsing: ["*=10/s", "echo=2/m"])
        XCTAssertEqual(rules.rule(for: "echo")?.description, "echo=2/m")
        XCTAssertEqual(rules.rule(for: "add")?.description, "*=10/s")
        let only = try RateLimits(parsing: ["echo=2/m"])
        XCTAssertNil(only.rule(for: "add"))
        XCTAssertTrue(RateLimits().isEmpty)
    }

    func testLaterRuleForSameToolWins() throws {
        let rules = try RateLimits(parsing: ["echo=2/s", "echo=7/m", "*=1/s", "*=3/s"])
        XCTAssertEqual(rules.rule(for: "echo")?.description, "echo=7/m")
        XCTAssertEqual(rules.rule(for: "x")?.description, "*=3/s")
    }

    func testKeysSeparateAnonymousAddressesFromPrincipals() {
        let alice = Principal(subject: "alice", method: .apiKey)
        XCTAssertEqual(RateLimitKey(principal: alice, sourceAddress: "10.0.0.1"),
                       RateLimitKey(principal: alice, sourceAddress: "10.0.0.2"))
        XCTAssertNotEqual(RateLimitKey(principal: .anonymous, sourceAddress: "10.0.0.1"),
                          RateLimitKey(principal: .anonymous, sourceAddress: "10.0.0.2"))
        XCTAssertNotEqual(RateLimitKey(principal: Principal(subject: "alice", method: .oauth), sourceAddress: nil),
                          RateLimitKey(principal: alice, sourceAddress: nil))
    }
}
