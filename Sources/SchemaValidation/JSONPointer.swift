/// JSON pointers (RFC 6901) and the percent-decoding of URI fragments that carry them.
enum JSONPointer {
    /// One reference token, escaped: `~` → `~0`, `/` → `~1`.
    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == 0x7E || $0 == 0x2F }) else { return token }
        var out = ""
        for c in token.unicodeScalars {
            switch c {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The reference tokens of a pointer ("" is the whole document); nil when it does not
    /// start with `/` or has a bad `~` escape.
    static func tokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        var out: [String] = []
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var tilde = false
            for c in raw.unicodeScalars {
                if tilde {
                    switch c {
                    case "0": token += "~"
                    case "1": token += "/"
                    default: return nil
                    }
                    tilde = false
                } else if c == "~" {
                    tilde = true
                } else {
                    token.unicodeScalars.append(c)
                }
            }
            if tilde { return nil }
            out.append(token)
        }
        return out
    }

    /// Percent-decoding (RFC 3986 §2.1) of a URI fragment; nil on a bad escape or bad UTF-8.
    static func percentDecoded(_ s: String) -> String? {
        guard s.utf8.contains(0x25) else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            guard c == 0x25 else { bytes.append(c); continue }
            guard it.count >= 2, let h = hex(it.popFirst()!), let l = hex(it.popFirst()!) else { return nil }
            bytes.append(h << 4 | l)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
