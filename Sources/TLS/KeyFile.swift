import COpenSSL
import Glibc
import Security

/// Reads a private key file, refusing one that group or others can read, as every secret file
/// is (`ProtectedFile`). Ownership: the caller wipes the bytes (`wipe`) once OpenSSL has
/// parsed them.
enum KeyFile {
    static func read(_ path: String) throws(TLSError) -> [UInt8] {
        do { return try ProtectedFile.read(path, what: "TLS key file") } catch { throw TLSError(error.description) }
    }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }
}
