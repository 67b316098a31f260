import Foundation
@testable import Redis
import Glibc
import XCTest

/// A real `redis-server` (or `redis-sentinel`) process on a loopback port, in a directory of
/// its own: started from a config file (secrets never in argv), ready once it answers PING,
/// stopped (SIGKILL by default: the tests simulate crashes) at the end.
final class RedisServer {
    let port: Int
    let directory: String
    let sentinel: Bool
    private var process: Process?
    private let configLines: [String]

    /// Fails (with the command to install it) when the binary is missing.
    static func binary(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/sbin", "/usr/bin"] {
            let path = "\(dir)/\(name)"
            if access(path, X_OK) == 0 { return path }
        }
        throw RedisTestError("\(name) is not installed: the Redis tests start real servers (apt-get install -y redis-server redis-sentinel; `make test-deps` does it)")
    }

    init(in parent: String, name: String, port: Int? = nil, sentinel: Bool = false, config: [String] = []) throws {
        self.port = port ?? freeLoopbackPort()
        self.sentinel = sentinel
        directory = "\(parent)/\(name)"
        configLines = config
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Starts the process and waits until it answers PING (or fails after `timeout` seconds).
    func start(timeout: Double = 10) throws {
        var lines = [
            "port \(port)", "bind 127.0.0.1", "dir \(directory)", "logfile \(directory)/server.log",
            "daemonize no", "protected-mode no",
        ]
        if !sentinel { lines += ["save \"\"", "appendonly no"] }
        lines += configLines
        let config = "\(directory)/\(sentinel ? "sentinel" : "redis").conf"
        // A Sentinel rewrites its config file; write it only on the first start.
        if !sentinel || !FileManager.default.fileExists(atPath: config) {
            try (lines.joined(separator: "\n") + "\n").write(toFile: config, atomically: true, encoding: .utf8)
        }
        let p = Process()
        let server = try RedisServer.binary(sentinel ? "redis-sentinel" : "redis-server")
        // Under setpriv (util-linux) the server gets SIGKILL if the test process dies first
        // (a crash skips tearDown): no server outlives its test run.
        if let setpriv = try? RedisServer.binary("setpriv") {
            p.executableURL = URL(fileURLWithPath: setpriv)
            p.arguments = ["--pdeathsig", "KILL", server, config]
        } else {
            p.executableURL = URL(fileURLWithPath: server)
            p.arguments = [config]
        }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // PONG, or NOAUTH from a server whose default user is off: it answers.
            if let reply = try? SyncRedis(port: port).command(["PING"]),
               reply == .status("PONG") || reply.errorCode == "NOAUTH" { return }
            guard p.isRunning else { break }
            usleep(20_000)
        }
        let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
        throw RedisTestError("redis on port \(port) did not answer PING: \(log.suffix(800))")
    }

    /// Kills the process (SIGKILL: a crash) and waits for it.
    func kill() {
        guard let p = process else { return }
        process = nil
        if p.isRunning { Glibc.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// SIGSTOP: the server keeps its connections but answers nothing.
    func pause() { if let p = process { Glibc.kill(p.processIdentifier, SIGSTOP) } }
    func resume() { if let p = process { Glibc.kill(p.processIdentifier, SIGCONT) } }

    var isRunning: Bool { process?.isRunning ?? false }

    deinit { resume(); kill() }
}

struct RedisTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A private temporary directory, removed by `remove()`.
struct TempDirectory {
    let path: String

    init(_ prefix: String) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw RedisTestError("mkdtemp failed")
        }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A loopback TCP port nobody listens on now, whose cluster bus port (+10000) is free too.
func freeLoopbackPort() -> Int {
    while true {
        let port = bindEphemeral()
        if port + 10000 <= 65535, portIsFree(port + 10000) { return port }
    }
}

private func bindEphemeral() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = loopback(port: 0)
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            guard bind(fd, p, len) == 0 else { return -1 }
            return getsockname(fd, p, &len)
        }
    }
    let port = Int(UInt16(bigEndian: addr.sin_port))
    // Below 55535 so that the cluster bus port fits.
    return port < 55535 ? port : bindEphemeral()
}

private func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = loopback(port: port)
    return withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

func loopback(port: Int) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return addr
}

/// A listening socket that accepts connections (the kernel completes them) and never answers.
final class SilentListener {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
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
    }

    deinit { close(fd) }
}
