import Foundation
import Glibc
@testable import Redis

/// A blocking RESP client for the tests' own checks and administration (not the code under test).
final class SyncRedis {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = loopback(port: port)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw RedisTestError("connect to \(port) failed")
        }
    }

    deinit { close(fd) }

    @discardableResult
    func command(_ args: [String]) throws -> RedisReply {
        try command(args.map { Array($0.utf8) })
    }

    @discardableResult
    func command(_ args: [[UInt8]]) throws -> RedisReply {
        let bytes = Array(RESPCommand.encode(args).dropLast()) // without the NUL kept for hiredis
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw RedisTestError("write failed") }
            sent += n
        }
        return try readReply()
    }

    private func readLine() throws -> String {
        while true {
            if let cr = buffer.firstIndex(of: 13), cr + 1 < buffer.count, buffer[cr + 1] == 10 {
                let line = String(decoding: buffer[..<cr], as: UTF8.self)
                buffer.removeFirst(cr + 2)
                return line
            }
            try fill()
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = read(fd, &chunk, chunk.count)
        guard n > 0 else { throw RedisTestError("connection closed or timed out") }
        buffer += chunk[..<n]
    }

    private func readReply() throws -> RedisReply {
        let line = try readLine()
        let body = String(line.dropFirst())
        switch line.first {
        case "+": return .status(body)
        case "-": return .error(body)
        case ":": return .integer(Int64(body) ?? 0)
        case "$":
            let n = Int(body) ?? -1
            if n < 0 { return .null }
            while buffer.count < n + 2 { try fill() }
            let data = Array(buffer[..<n])
            buffer.removeFirst(n + 2)
            return .bulk(data)
        case "*":
            let n = Int(body) ?? -1
            if n < 0 { return .null }
            return .array(try (0..<n).map { _ in try readReply() })
        default:
            throw RedisTestError("bad reply line \(line)")
        }
    }
}

