extension SharedRevocationsRedis {
    /// One message on `sy:sessions`: `<kind> <origin front> <ack id or -> <session> [<value>]`,
    /// kind `R` (deleted), `L` (level), `S`/`U` (subscribed, unsubscribed; the value is the
    /// escaped URI). What Redis hands back is checked like any input: a bad message is dropped.
    struct Wire: Equatable {
        let event: SessionEvent
        let origin: String
        let ack: UInt64?

        /// Longest URI shared (a longer one is not shared, only kept by the fronts of its host).
        static let maxURI = 8 * 1024

        static func encode(_ event: SessionEvent, origin: String, ack: UInt64?) -> [UInt8] {
            let head = origin + " " + (ack.map { String($0) } ?? "-") + " "
            switch event {
            case .revoked(let s): return Array(("R " + head + s).utf8)
            case .level(let s, let level): return Array(("L " + head + s + " " + level).utf8)
            case .subscription(let s, let uri, let on): return Array(((on ? "S " : "U ") + head + s + " " + uri).utf8)
            }
        }

        static func decode(_ payload: [UInt8]) -> Wire? {
            guard payload.count <= 512 + maxURI else { return nil }
            let f = payload.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard f.count >= 4, f[0].count == 1, let origin = token(f[1], max: 64),
                  let session = session(Array(f[3])) else { return nil }
            let ackText = String(decoding: f[2], as: UTF8.self)
            let ack: UInt64?
            if ackText == "-" { ack = nil } else if let a = UInt64(ackText) { ack = a } else { return nil }
            let event: SessionEvent
            switch (f[0].first!, f.count) {
            case (UInt8(ascii: "R"), 4):
                event = .revoked(session)
            case (UInt8(ascii: "L"), 5):
                let level = String(decoding: f[4], as: UTF8.self)
                guard LoggingSetLevel.levels.contains(level) else { return nil }
                event = .level(session, level)
            case (UInt8(ascii: "S"), 5), (UInt8(ascii: "U"), 5):
                guard let uri = uri(f[4]) else { return nil }
                event = .subscription(session, uri: uri, on: f[0].first == UInt8(ascii: "S"))
            default:
                return nil
            }
            return Wire(event: event, origin: origin, ack: ack)
        }

        /// A field of a session's hash as the event it records (nil: unknown or malformed).
        static func field(session: String, field: [UInt8], value: [UInt8]) -> SessionEvent? {
            let name = String(decoding: field, as: UTF8.self)
            if name == "rev" { return .revoked(session) }
            if name == "level" {
                let level = String(decoding: value, as: UTF8.self)
                return LoggingSetLevel.levels.contains(level) ? .level(session, level) : nil
            }
            if name.hasPrefix("sub:"), let uri = uri(field.dropFirst(4)) {
                return .subscription(session, uri: uri, on: true)
            }
            return nil
        }

        /// A session id as `SessionTokens` issues them: at most 128 bytes of base64url and dots.
        static func session(_ bytes: [UInt8]) -> String? { token(bytes[...], max: 128) }

        private static func token(_ bytes: ArraySlice<UInt8>, max: Int) -> String? {
            guard !bytes.isEmpty, bytes.count <= max, bytes.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
            }) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }

        private static func uri(_ bytes: ArraySlice<UInt8>) -> String? {
            guard !bytes.isEmpty, bytes.count <= maxURI,
                  !bytes.contains(where: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D }) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
