import Glibc

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

    private func emit(_ level: Level, _ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)]) {
        guard level >= minimum else { return }
        var line = Log.format(level: level, component: component, pid: getpid(), message: msg(), fields: fields())
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

    /// One logfmt line: `level=info component=front pid=12 msg="..." key=value`.
    public static func format(level: Level, component: String, pid: Int32, message: String,
                              fields: [(String, String)]) -> String {
        var s = "level=\(level.name) component=\(quote(component)) pid=\(pid) msg=\(quote(message))"
        for (k, v) in fields { s += " \(k)=\(quote(v))" }
        return s
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
                    out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
