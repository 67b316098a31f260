import Glibc
import MCPCore

/// One audit-log entry: who did what, how it was decided and how it ended. Built from a
/// `Principal` and facts the pipeline established, never from headers: no token, key or
/// argument value can get in (arguments only as a keyed `ArgumentsDigest`, the session id
/// only as a hash).
public struct AuditRecord: Sendable, Equatable {
    public enum Decision: String, Sendable {
        case allow
        case deny
    }

    /// Unix time in nanoseconds (CLOCK_REALTIME) when the request arrived.
    public var timeNs: UInt64
    public var subject: String
    public var clientId: String?
    public var auth: Principal.Method
    public var sourceAddress: String?
    /// First 16 hex digits of SHA-256 of the session id: lines of one session correlate, and
    /// the log never holds a usable session id.
    public var session: String?
    public var method: String
    /// The tool, resource URI or prompt name, when the method has one.
    public var name: String?
    public var decision: Decision
    /// Why (a policy rule, "rate limited", an authentication failure's description).
    public var reason: String?
    /// The HTTP status of the answer.
    public var status: Int
    public var durationNs: UInt64
    public var arguments: ArgumentsDigest?

    public init(timeNs: UInt64 = AuditRecord.wallClockNow(), principal: Principal, sourceAddress: String?,
                sessionId: String?, method: String, name: String?, decision: Decision, reason: String?,
                status: Int, durationNs: UInt64, arguments: ArgumentsDigest? = nil) {
        self.timeNs = timeNs
        subject = principal.subject
        clientId = principal.clientId
        auth = principal.method
        self.sourceAddress = sourceAddress
        session = sessionId.map { AuditDigest.hex(AuditDigest.sha256(Array($0.utf8)).prefix(8)) }
        self.method = method
        self.name = name
        self.decision = decision
        self.reason = reason
        self.status = status
        self.durationNs = durationNs
        self.arguments = arguments
    }

    /// CLOCK_REALTIME in nanoseconds.
    public static func wallClockNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Appends the record's members, in this fixed order, each value a JSON literal (strings
    /// escaped by `JSONValue.appendQuoted`, so quotes, newlines and control bytes cannot break
    /// the line): `"subject":…,"clientId":…,"auth":…,"source":…,"session":…,"method":…,
    /// "name":…,"decision":…,"reason":…,"status":…,"durationMs":…,"argsHash":…`.
    /// Absent values are `null`. No leading or trailing comma.
    public func appendMembers(to out: inout [UInt8]) {
        func key(_ k: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
            out.append(contentsOf: "\":".utf8)
        }
        func string(_ s: String?) {
            if let s { JSONValue.appendQuoted(s, to: &out) } else { out += "null".utf8 }
        }
        key("subject", first: true); string(subject)
        key("clientId"); string(clientId)
        key("auth"); string(auth.rawValue)
        key("source"); string(sourceAddress)
        key("session"); string(session)
        key("method"); string(method)
        key("name"); string(name)
        key("decision"); string(decision.rawValue)
        key("reason"); string(reason)
        key("status"); out += String(status).utf8
        key("durationMs"); out += Self.milliseconds(durationNs).utf8
        key("argsHash"); string(arguments?.hex)
    }

    /// `12.345`: milliseconds with three decimals, no exponent.
    static func milliseconds(_ ns: UInt64) -> String {
        let us = ns / 1_000
        let fraction = String(us % 1_000)
        return String(us / 1_000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-07T15:57:04.123Z`.
    public static func timestamp(_ ns: UInt64) -> String {
        var seconds = time_t(ns / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(ns / 1_000_000 % 1_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)Z"
    }
}
