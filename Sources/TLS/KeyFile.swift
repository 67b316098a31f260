import COpenSSL
import Glibc

/// Reads a private key file, refusing one that group or others can read (as the session key
/// file is refused). The mode is taken from the open descriptor: no window between the check
/// and the read. Ownership: the caller wipes the bytes (`wipe`) once OpenSSL has parsed them.
enum KeyFile {
    static let maxSize = 1 << 20

    static func read(_ path: String) throws(TLSError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TLSError("cannot read TLS key file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw TLSError("TLS key file \(path) is not a regular file")
        }
        if st.st_mode & (S_IRGRP | S_IROTH) != 0 {
            let mode = "0" + String(st.st_mode & 0o7777, radix: 8)
            throw TLSError("TLS key file \(path) is readable by other users (mode \(mode)); run: chmod 600 \(path)")
        }
        guard Int(st.st_size) <= maxSize else { throw TLSError("TLS key file \(path) is larger than 1 MiB") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            got += n
        }
        bytes.removeLast(bytes.count - got)
        return bytes
    }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }
}
