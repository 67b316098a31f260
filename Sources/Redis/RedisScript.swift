import COpenSSL

/// A Lua script for `RedisClient.eval`: its source and the SHA1 that EVALSHA names it by.
public final class RedisScript: Sendable {
    public let source: String
    /// Lowercase hex SHA1 of `source`, as Redis names scripts.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        var text = source
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        text.withUTF8 { bytes in
            var length: UInt32 = 0
            let ok = EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha1(), nil)
            precondition(ok == 1 && length == UInt32(SHA_DIGEST_LENGTH), "SHA1 failed")
        }
        let digits = Array("0123456789abcdef".utf8)
        sha1 = String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }, as: UTF8.self)
    }
}
