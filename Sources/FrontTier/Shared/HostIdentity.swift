import COpenSSL
import Glibc

/// Which host a front belongs to when several hosts share one Redis: 16 random hex digits kept
/// in `<runDir>/host-id`, so every front of one server (one run directory) reads the same id and
/// another host (another run directory) has another. Used to route a client's answer to the host
/// whose tool waits, and to name a front's answer channel.
enum HostIdentity {
    /// Reads the run directory's host id, creating it on first use. Fronts start together, so the
    /// id is written to a private file first and linked into place: `link` either publishes a
    /// complete file or fails because another front won, and then its id is read.
    static func load(runDir: String) -> String {
        let path = runDir + "/host-id"
        if let id = read(path) { return id }
        let fresh = random()
        let temp = path + ".\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd >= 0 {
            let line = fresh + "\n"
            _ = line.withCString { write(fd, $0, strlen($0)) }
            close(fd)
            _ = link(temp, path)
            unlink(temp)
        }
        // Whoever won the link, the file holds the host's id; without a writable run directory
        // this front keeps an id of its own (answers then route through Redis even between
        // fronts of this host, which still works).
        return read(path) ?? fresh
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 64) }
        guard n >= 16 else { return nil }
        let id = buffer[0..<16]
        guard id.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    private static func random() -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        // A failed RAND_bytes would leave zeros, the same id on every host: refuse to go on.
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, 8) }
        precondition(ok == 1, "OpenSSL gave no random bytes for the host id")
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
}
