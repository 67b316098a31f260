import Glibc
import Security

/// How a result is kept outside the front: AES-256-GCM under a key derived from the server's
/// session key (HKDF-SHA256, a label of its own: no other use of the session key shares it),
/// with the Redis key as associated data, so a value copied under another key does not open.
/// The plaintext is the expiry (Unix ms, 8 bytes big-endian) then the result: a front that
/// takes a value into its memory keeps it no longer than the shared tier does.
struct ResultSealer {
    static let label = Array("switchyard tool-result cache v1".utf8)
    private let key: AESGCMKey

    init(sessionKey: [UInt8]) {
        // HKDF always gives 32 bytes here, which AESGCMKey takes.
        key = AESGCMKey(HKDF.sha256(secret: sessionKey, info: Self.label, length: 32))!
    }

    func seal(_ result: [UInt8], expiresAtUnixMs: UInt64, under redisKey: [UInt8]) -> [UInt8]? {
        var plain: [UInt8] = []
        plain.reserveCapacity(8 + result.count)
        for shift in stride(from: 56, through: 0, by: -8) { plain.append(UInt8(truncatingIfNeeded: expiresAtUnixMs >> UInt64(shift))) }
        plain += result
        return key.seal(plain, associatedData: redisKey)
    }

    /// The result and its expiry; nil when the box does not open (altered, another key, another
    /// place) or has expired by `nowUnixMs`.
    func open(_ box: [UInt8], under redisKey: [UInt8], nowUnixMs: UInt64) -> (result: [UInt8], expiresAtUnixMs: UInt64)? {
        guard let plain = key.open(box, associatedData: redisKey), plain.count >= 8 else { return nil }
        let expires = plain[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard expires > nowUnixMs else { return nil }
        return (Array(plain[8...]), expires)
    }

    /// Milliseconds since the Unix epoch: expiries travel between hosts, so not the loop's clock.
    static func nowUnixMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}
