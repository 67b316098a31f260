import MCPCore

/// The opaque `requestState` of an input-required result: base64url (no padding) of compact
/// JSON `{"v":1,"for":SUBJECT,"state":{...},"answers":{...}}`. `state` is the handler's own
/// dictionary; `answers` are the inputs it already received in earlier rounds (a client only
/// sends the answers to the latest round, and handlers run from the top each round). `for`
/// binds it to one tool, prompt or resource. The front HMAC-wraps it before it leaves the
/// server, so what arrives here has been verified; the checks below catch misrouted state.
struct RequestState: Equatable {
    static let version = 1
    var subject: String
    var state: [String: JSONValue]
    var answers: [String: JSONValue]

    func encoded() -> String {
        let json = JSONValue.object(["v": .number(Double(RequestState.version)), "for": .string(subject),
                                     "state": .object(state), "answers": .object(answers)]).compactJSON()
        return Base64URL.encode(Array(json.utf8))
    }

    static func decode(_ s: String, subject: String) throws(RequestError) -> RequestState {
        guard let bytes = Base64URL.decode(s), case .object(let o)? = try? JSONValue.parse(bytes),
              o["v"] == .number(Double(version)), case .string(let f)? = o["for"],
              case .object(let state)? = o["state"], case .object(let answers)? = o["answers"] else {
            throw .invalidParams("invalid requestState")
        }
        guard f == subject else { throw .invalidParams("requestState belongs to another request") }
        return RequestState(subject: f, state: state, answers: answers)
    }
}

/// base64url without padding (RFC 4648 §5), and standard base64 for content blobs.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String { encode(bytes, alphabet: alphabet, pad: false) }

    /// Standard base64 with padding (MCP `data` and `blob` members).
    public static func encodeStandard(_ bytes: [UInt8]) -> String { encode(bytes, alphabet: standard, pad: true) }

    static func encode(_ bytes: [UInt8], alphabet: [UInt8], pad: Bool) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            if i + 1 < bytes.count { out.append(alphabet[Int((b1 & 15) << 2 | b2 >> 6)]) } else if pad { out.append(61) }
            if i + 2 < bytes.count { out.append(alphabet[Int(b2 & 63)]) } else if pad { out.append(61) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64url or standard base64, padded or not; nil on any other character or a
    /// length that no encoding produces.
    public static func decode(_ s: String) -> [UInt8]? {
        var vals = [UInt8]()
        var sawPad = false
        for c in s.utf8 {
            if c == 61 { sawPad = true; continue }
            if sawPad { return nil }
            switch c {
            case 65...90: vals.append(c - 65)
            case 97...122: vals.append(c - 97 + 26)
            case 48...57: vals.append(c - 48 + 52)
            case 45, 43: vals.append(62)
            case 95, 47: vals.append(63)
            default: return nil
            }
        }
        if vals.count % 4 == 1 { return nil }
        var out = [UInt8]()
        var i = 0
        while i < vals.count {
            let n = min(4, vals.count - i)
            let v0 = vals[i], v1 = vals[i + 1]
            out.append(v0 << 2 | v1 >> 4)
            if n > 2 { out.append((v1 & 15) << 4 | vals[i + 2] >> 2) }
            if n > 3 { out.append((vals[i + 2] & 3) << 6 | vals[i + 3]) }
            i += 4
        }
        return out
    }
}
