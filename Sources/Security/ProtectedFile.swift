import Glibc

/// Files that hold secrets or their hashes (the API keys file, the HMAC secret): read whole
/// with the permission bits of the open descriptor (no window between checking and reading),
/// refused when group or others may read them, and written atomically with mode 0600.
/// The rule of the server's `Secret` files (switchyard's Support.swift), for the library.
/// Errors name the file, never its contents.
public enum ProtectedFile {
    /// Files larger than this are not a key file.
    public static let maxSize = 1 << 20

    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Whether `path` exists (a missing keys file is an empty one for `keys new`).
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The bytes of `path`, refused when group or others may read it. `what` names the file in
    /// errors ("API keys file").
    public static func read(_ path: String, what: String) throws(Problem) -> [UInt8] {
        let file = try readWithMode(path, what: what)
        guard file.mode & (S_IRGRP | S_IROTH) == 0 else {
            throw Problem("\(what) \(path) is readable by other users (mode \(modeText(file.mode))); "
                          + "run: chmod 600 \(path)")
        }
        return file.bytes
    }

    /// The bytes of a regular file of at most `maxSize` bytes and its permission bits, both from
    /// one open descriptor (no window between checking and reading); the caller decides what the
    /// mode allows (a config file is refused only when it holds a secret).
    public static func readWithMode(_ path: String, what: String) throws(Problem) -> (bytes: [UInt8], mode: mode_t) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Problem("cannot read \(what) \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw Problem("\(what) \(path) is not a regular file")
        }
        return (try readAll(fd, path, what: what), st.st_mode)
    }

    /// The permission bits as `chmod` takes them, e.g. `0644`.
    public static func modeText(_ mode: mode_t) -> String { "0" + String(mode & 0o7777, radix: 8) }

    /// The rest of `fd`, at most `maxSize` bytes.
    private static func readAll(_ fd: Int32, _ path: String, what: String) throws(Problem) -> [UInt8] {
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Problem("cannot read \(what) \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { return bytes }
            guard bytes.count + n <= maxSize else { throw Problem("\(what) \(path) is larger than 1 MiB") }
            bytes += buf[0..<n]
        }
    }

    /// Replaces `path` with `bytes`: a new 0600 file beside it, synced, then renamed over it,
    /// so a reader sees the old file or the new one, never half of one.
    public static func write(_ bytes: [UInt8], to path: String, what: String) throws(Problem) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Problem("cannot write \(what) \(path): \(String(cString: strerror(errno)))") }
        var written = 0
        var failure: String?
        // The umask can only remove bits; fchmod makes 0600 explicit whatever it is.
        if fchmod(fd, 0o600) != 0 { failure = String(cString: strerror(errno)) }
        while failure == nil && written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = String(cString: strerror(errno)); break }
            written += n
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw Problem("cannot write \(what) \(path): \(failure)")
        }
    }

    /// Identity of the file's current version (device, inode, size, modification time), to
    /// notice a replacement without reading it.
    static func version(_ path: String) -> [Int]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return [Int(st.st_dev), Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
    }
}

extension ProtectedFile {
    /// The bytes of a file that holds no secret (a JWK Set of public keys): no mode check.
    static func readPublic(_ path: String, what: String) throws(Problem) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Problem("cannot read \(what) \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try readAll(fd, path, what: what)
    }
}
