import Foundation
import Glibc
@testable import Redis

/// A loopback server that speaks just enough RESP to play a misbehaving Redis: each command
/// array is answered by `answer` (raw RESP bytes). One thread per connection; `stop()` ends
/// them all.
final class FakeRedis: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let answer: @Sendable ([String], Int) -> String
    private let lock = NSLock()
    private var connections: [Int32] = []
    private var stopped = false

    init(answer: @escaping @Sendable (_ command: [String], _ port: Int) -> String) throws {
        self.answer = answer
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        listener = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, len) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, p, &len)
            }
        }
        guard rc == 0 else { throw RedisTestError("cannot listen") }
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    func stop() {
        lock.lock()
        stopped = true
        let open = connections
        connections = []
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit {
        stop()
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            lock.lock()
            if stopped { lock.unlock(); close(fd); return }
            connections.append(fd)
            lock.unlock()
            Thread { [self] in serve(fd) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { return }
            buffer += chunk[..<n]
            var out = ""
            while let (command, used) = FakeRedis.parse(buffer) {
                buffer.removeFirst(used)
                out += answer(command, port)
            }
            if !out.isEmpty { _ = out.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) } }
        }
    }

    /// One `*N\r\n$len\r\narg\r\n...` command from the front of `bytes`, and the bytes it used.
    static func parse(_ bytes: [UInt8]) -> ([String], Int)? {
        var i = 0
        func line() -> String? {
            var j = i
            while j + 1 < bytes.count { if bytes[j] == 13 && bytes[j + 1] == 10 { break }; j += 1 }
            guard j + 1 < bytes.count else { return nil }
            let text = String(decoding: bytes[i..<j], as: UTF8.self)
            i = j + 2
            return text
        }
        guard let head = line(), head.first == "*", let count = Int(head.dropFirst()) else { return nil }
        var args: [String] = []
        for _ in 0..<count {
            guard let size = line(), size.first == "$", let n = Int(size.dropFirst()), i + n + 2 <= bytes.count else { return nil }
            args.append(String(decoding: bytes[i..<(i + n)], as: UTF8.self))
            i += n + 2
        }
        return (args, i)
    }
}
