import EventLoop
import Foundation
import Glibc
import XCTest

/// How many of each event the handle-count tests run (the issue asks for 10,000).
let lifecycleRounds = 10_000

/// A private temporary directory, removed by `remove()`. Short: Unix socket paths are limited
/// to 107 bytes.
struct TempDirectory {
    let path: String

    init(_ prefix: String) throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw POSIXError(.EIO)
        }
        path = String(cString: template)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Sends what this process writes to fd 2 (log lines, its children's too) to a file while
/// `body` runs: thousands of expected warnings would bury the test output. Returns the text.
func capturingStderr(_ body: () throws -> Void) rethrows -> String {
    let path = "/tmp/sy-lifecycle-stderr-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(file >= 0, "cannot create \(path)")
    let saved = dup(2)
    dup2(file, 2)
    defer {
        dup2(saved, 2)
        close(saved)
        close(file)
        unlink(path)
    }
    try body()
    return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

/// A loopback TCP port nobody listens on right now (bound, read back, released).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            guard bind(fd, p, len) == 0 else { return -1 }
            return getsockname(fd, p, &len)
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Fails the test and stops `loop` if it is still running after `seconds`: a lifecycle bug
/// must not hang the suite. Close it when done (it is counted in the baseline).
func watchdog(_ loop: Loop, seconds: UInt64, file: StaticString = #filePath, line: UInt = #line) -> EventLoop.Timer {
    let t = Timer(loop: loop) {
        XCTFail("the loop was still running after \(seconds) s", file: file, line: line)
        loop.stop()
    }
    t.start(after: seconds * 1000)
    t.unref()
    return t
}

/// Holds a weak reference, to check that an object was released.
final class WeakRef<T: AnyObject> {
    weak var object: T?
    init(_ object: T) { self.object = object }
}
