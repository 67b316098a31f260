import Glibc
import MCPCore

/// Structured log lines (logfmt) written to fd 2 with one write(2) each, so lines from
/// several processes sharing a terminal or file never interleave.
///
/// Thread: any; `Log` values are immutable.
public struct Log: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String { ["debug", "info", "warn", "error"][rawValue] }
    }

    public let component: String
    public let minimum: Level

    public init(_ component: String, minimum: Level = Log.defaultLevel) {
        self.component = component
        self.minimum = minimum
    }

    public enum Format: Sendable { case logfmt, json }

    /// From SWITCHYARD_LOG_FORMAT (`logfmt`, the default, or `json`).
    public static let format: Format = {
        guard let raw = getenv("SWITCHYARD_LOG_FORMAT") else { return .logfmt }
        return String(cString: raw) == "json" ? .json : .logfmt
    }()

    /// From SWITCHYARD_LOG_LEVEL (debug, info, warn, error); info when unset.
    public static let defaultLevel: Level = {
        guard let raw = getenv("SWITCHYARD_LOG_LEVEL") else { return .info }
        switch String(cString: raw) {
        case "debug": return .debug
        case "warn", "warning": return .warning
        case "error": return .error
        default: return .info
        }
    }()

    public func debug(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        emit(.debug, msg(), fields())
    }
    public func info(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        emit(.info, msg(), fields())
    }
    public func warning(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        emit(.warning, msg(), fields())
    }
    public func error(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        emit(.error, msg(), fields())
    }

    private func emit(_ level: Level, _ msg: @autoclosure () -> String,
                      _ fields: @autoclosure () -> [(String, String)]) {
        guard level >= minimum else { return }
        let pid = getpid(), time = Log.timestamp()
        var line = Log.format == .json
            ? Log.json(level: level, component: component, pid: pid, message: msg(), fields: fields(), time: time)
            : Log.format(level: level, component: component, pid: pid, message: msg(), fields: fields(), time: time)
        line.append("\n")
        line.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(2, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }

    /// One logfmt line: `ts=... level=info component=front pid=12 msg="..." key=value`.
    public static func format(level: Level, component: String, pid: Int32, message: String,
                              fields: [(String, String)], time: String? = nil) -> String {
        var s = time.map { "ts=\($0) " } ?? ""
        s += "level=\(level.name) component=\(quote(component)) pid=\(pid) msg=\(quote(message))"
        for (k, v) in fields { s += " \(k)=\(quote(v))" }
        return s
    }

    /// One JSON line with the same members (values as strings, except pid).
    public static func json(level: Level, component: String, pid: Int32, message: String,
                            fields: [(String, String)], time: String? = nil) -> String {
        var s = "{"
        if let time { s += "\"ts\":\(jsonString(time))," }
        s += "\"level\":\"\(level.name)\",\"component\":\(jsonString(component)),"
        s += "\"pid\":\(pid),\"msg\":\(jsonString(message))"
        for (k, v) in fields { s += ",\(jsonString(k)):\(jsonString(v))" }
        return s + "}"
    }

    static func jsonString(_ v: String) -> String { JSONValue.quote(v) }

    /// UTC, RFC 3339 with milliseconds.
    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func p(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        let date = "\(p(tmv.tm_year + 1900, 4))-\(p(tmv.tm_mon + 1, 2))-\(p(tmv.tm_mday, 2))"
        return date + "T\(p(tmv.tm_hour, 2)):\(p(tmv.tm_min, 2)):\(p(tmv.tm_sec, 2))."
            + "\(p(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }

    /// Quotes a logfmt value when it needs it; control characters are escaped so a line stays one line.
    public static func quote(_ v: String) -> String {
        let plain = !v.isEmpty && v.utf8.allSatisfy { $0 > 0x20 && $0 != 0x22 && $0 != 0x3D && $0 != 0x5C && $0 < 0x7F }
        if plain { return v }
        var out = "\""
        for u in v.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
