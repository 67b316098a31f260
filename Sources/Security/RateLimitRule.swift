/// One `--rate-limit` rule: `TOOL=N/s` or `TOOL=N/m`, `*` for every tool without a rule of its
/// own. A token bucket of N tokens (the burst) refilled at N per second or per minute, per
/// principal (or source address, for anonymous clients) and tool.
public struct RateLimitRule: Sendable, Equatable, CustomStringConvertible {
    public enum Period: String, Sendable {
        case second = "s"
        case minute = "m"

        var nanoseconds: UInt64 { self == .second ? 1_000_000_000 : 60_000_000_000 }
    }

    /// The tool's name, or nil for `*`.
    public let tool: String?
    /// Requests per period, and the burst.
    public let count: Int
    public let period: Period

    /// The largest N: beyond it a bucket's refill interval would fall below a nanosecond per
    /// token for `/s`, which the table cannot represent.
    public static let maxCount = 1_000_000

    public init(tool: String?, count: Int, period: Period) {
        precondition(count >= 1 && count <= Self.maxCount, "rate-limit count out of range")
        self.tool = tool
        self.count = count
        self.period = period
    }

    /// Parses `TOOL=N/s` or `TOOL=N/m`. Errors name `option` and quote the text.
    public init(parsing text: String, option: String = "--rate-limit") throws {
        func bad(_ why: String) -> RateLimitRuleError { RateLimitRuleError(option: option, text: text, reason: why) }
        guard let eq = text.lastIndex(of: "=") else { throw bad("expected TOOL=N/s or TOOL=N/m") }
        let name = String(text[..<eq])
        let rate = text[text.index(after: eq)...]
        guard !name.isEmpty else { throw bad("the tool name is empty (use * for every tool)") }
        let parts = rate.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw bad("expected N/s or N/m after '='") }
        guard let period = Period(rawValue: String(parts[1])) else {
            throw bad("the period must be s (per second) or m (per minute), got '\(parts[1])'")
        }
        guard parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(parts[0]) else {
            throw bad("the count must be a whole number, got '\(parts[0])'")
        }
        guard n >= 1 else { throw bad("the count must be at least 1") }
        guard n <= Self.maxCount else { throw bad("the count must be at most \(Self.maxCount)") }
        self.init(tool: name == "*" ? nil : name, count: n, period: period)
    }

    /// Nanoseconds between two tokens.
    public var intervalNanoseconds: UInt64 { period.nanoseconds / UInt64(count) }
    /// Tokens a full bucket holds.
    public var burst: Int { count }

    public var description: String { "\(tool ?? "*")=\(count)/\(period.rawValue)" }
}

/// A rule that does not parse; the description names the option and the text.
public struct RateLimitRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public let option: String
    public let text: String
    public let reason: String
    public var description: String { "\(option) '\(text)': \(reason)" }
}

/// The rules of a server: an exact tool name beats `*`; a tool with neither is not limited.
public struct RateLimits: Sendable, Equatable {
    public private(set) var byTool: [String: RateLimitRule] = [:]
    public private(set) var fallback: RateLimitRule?

    public init() {}

    /// Rules in order; a later rule for the same tool replaces an earlier one (so a config
    /// file's rules can be overridden from the command line).
    public init(_ rules: [RateLimitRule]) {
        for r in rules {
            if let t = r.tool { byTool[t] = r } else { fallback = r }
        }
    }

    /// Parses every `--rate-limit` value (see `RateLimitRule.init(parsing:option:)`).
    public init(parsing texts: [String], option: String = "--rate-limit") throws {
        self.init(try texts.map { try RateLimitRule(parsing: $0, option: option) })
    }

    public var isEmpty: Bool { byTool.isEmpty && fallback == nil }

    /// The rule that applies to `tool`, if any.
    public func rule(for tool: String) -> RateLimitRule? { byTool[tool] ?? fallback }
}
