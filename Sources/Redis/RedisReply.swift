/// One RESP2 reply. `.error` also carries the client's own failures, which start with a word
/// in capitals like the server's: `DOWN ...` (not connected, or the connection was lost or
/// timed out), `BUSY ...` (too many replies awaited), `REDIRECT ...` (too many redirections).
public enum RedisReply: Sendable, Equatable {
    case status(String), error(String), integer(Int64), bulk([UInt8]), null, array([RedisReply])

    /// The error text, or nil for any other reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// A bulk or status reply as UTF-8 text.
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }

    /// The first word of an error reply (`MOVED`, `ASK`, `NOSCRIPT`, `READONLY`, `DOWN`...).
    var errorCode: Substring? {
        guard case .error(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }
}

/// Commands as RESP arrays of bulk strings: what hiredis sends as is.
enum RESPCommand {
    /// The command followed by a NUL byte that is not part of it: hiredis scans a formatted
    /// command with `strchr` to find its name and a SUBSCRIBE's channels, past the end of an
    /// unterminated buffer (AddressSanitizer caught it).
    static func encode(_ args: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(17 + args.reduce(0) { $0 + $1.count + 16 })
        out.append(UInt8(ascii: "*"))
        appendDecimal(args.count, to: &out)
        for arg in args {
            out.append(UInt8(ascii: "$"))
            appendDecimal(arg.count, to: &out)
            out.append(contentsOf: arg)
            out.append(13)
            out.append(10)
        }
        out.append(0)
        return out
    }

    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        out.append(contentsOf: String(value).utf8)
        out.append(13)
        out.append(10)
    }

    /// Commands that switch a connection into pub/sub or monitor mode: hiredis keeps their
    /// callbacks apart, so they may only go through `RedisClient.subscribe`.
    static func isModeChanging(_ name: [UInt8]) -> Bool {
        guard name.count >= 5, name.count <= 12 else { return false }
        // ASCII case folding: `| 0x20` lowers a capital letter and leaves the lowercase ones.
        return modeChanging.contains { word in word.count == name.count && zip(word, name).allSatisfy { $0 == $1 | 0x20 } }
    }

    private static let modeChanging: [[UInt8]] = ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
                                                  "sunsubscribe", "monitor", "reset", "hello"].map { Array($0.utf8) }
}
