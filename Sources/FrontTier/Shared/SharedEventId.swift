import Glibc

/// The id of an event in the shared event log (a Redis stream id, `<ms>-<seq>` in decimal):
/// the SSE event id a handshake-era GET stream carries when Redis is configured, so that a
/// client resumes with `Last-Event-ID` on any host. Ids of one log only grow.
struct SharedEventId: Comparable, Hashable, CustomStringConvertible {
    var ms: UInt64
    var seq: UInt64

    static let zero = SharedEventId(ms: 0, seq: 0)

    /// This host's wall clock in ms (CLOCK_REALTIME): Redis makes ids from its own clock, so this
    /// only approximates a position in the log (hosts' clocks are kept close by NTP).
    static func wallClockMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(0, ts.tv_sec)) * 1_000 + UInt64(max(0, ts.tv_nsec)) / 1_000_000
    }

    var description: String { "\(ms)-\(seq)" }

    static func < (a: SharedEventId, b: SharedEventId) -> Bool { (a.ms, a.seq) < (b.ms, b.seq) }

    /// Only the spelling Redis produces: two runs of decimal digits joined by one `-`, no sign,
    /// no leading zero (other than a lone `0`), no overflow. Anything else is nil (not ours).
    init?(_ text: String) {
        guard let parts = Self.parse(Array(text.utf8)) else { return nil }
        (ms, seq) = parts
    }

    init?(_ bytes: [UInt8]) {
        guard let parts = Self.parse(bytes) else { return nil }
        (ms, seq) = parts
    }

    init(ms: UInt64, seq: UInt64) { self.ms = ms; self.seq = seq }

    private static func parse(_ bytes: [UInt8]) -> (UInt64, UInt64)? {
        guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")),
              let ms = decimal(bytes[..<dash]), let seq = decimal(bytes[(dash + 1)...]) else { return nil }
        return (ms, seq)
    }

    private static func decimal(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count == 1 || digits.first != UInt8(ascii: "0") else { return nil }
        var value: UInt64 = 0
        for c in digits {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return value
    }
}
