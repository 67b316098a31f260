import MCPCore

/// The verification keys of a JWK Set (RFC 7517 §5), immutable once parsed.
/// Thread: Sendable; a new set replaces an old one whole (see `JWKSSource`).
public final class JWKSet: Sendable {
    public let keys: [PublicKey]
    /// Entries left out (unknown type, `use: enc`, too short, off-curve), for the log.
    public let skipped: [JWKSkip]

    public init(keys: [PublicKey], skipped: [JWKSkip] = []) {
        self.keys = keys
        self.skipped = skipped
    }

    public static let empty = JWKSet(keys: [])

    /// Parses `{"keys":[...]}`. Throws when the bytes are no JWK Set or hold no usable key:
    /// installing such a set would lock every client out, so the caller keeps the old one.
    public static func parse(_ bytes: [UInt8]) throws(JWKSetError) -> JWKSet {
        guard case .object(let root)? = try? JSONValue.parse(bytes) else { throw JWKSetError("not a JSON object") }
        guard case .array(let entries)? = root["keys"] else { throw JWKSetError("no \"keys\" array") }
        var keys: [PublicKey] = []
        var skipped: [JWKSkip] = []
        for entry in entries {
            guard case .object(let jwk) = entry else {
                skipped.append(JWKSkip("entry is not an object"))
                continue
            }
            switch JWK.publicKey(jwk) {
            case .success(let key): keys.append(key)
            case .failure(let skip): skipped.append(skip)
            }
        }
        guard !keys.isEmpty else {
            throw JWKSetError("no usable signing key" + (skipped.isEmpty ? "" : " (\(skipped.map(\.description).joined(separator: "; ")))"))
        }
        return JWKSet(keys: keys, skipped: skipped)
    }

    /// The keys that may verify a token with this `kid` and algorithm.
    func candidates(keyID: String?, algorithm: JWSAlgorithm) -> Result<[PublicKey], JWTRejection> {
        guard let keyID else {
            let fitting = keys.filter { $0.allows(algorithm) }
            return fitting.isEmpty ? .failure(.noKeyForAlgorithm) : .success(fitting)
        }
        let named = keys.filter { $0.keyID == keyID }
        guard !named.isEmpty else { return .failure(.unknownKeyID) }
        let fitting = named.filter { $0.allows(algorithm) }
        return fitting.isEmpty ? .failure(.keyTypeMismatch) : .success(fitting)
    }
}

/// Why bytes are not a usable JWK Set.
public struct JWKSetError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
