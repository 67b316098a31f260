import EventLoop
import XCTest
@testable import Redis

/// Base of the Redis tests: a temporary directory, the servers started in it (killed at the
/// end), a loop, and options with short timeouts so that failures show within a second.
class RedisTestCase: XCTestCase {
    var temp: TempDirectory!
    var servers: [RedisServer] = []
    var loop: Loop!
    var logLines: [String] = []
    var clients: [RedisClient] = []

    static let fastOptions: RedisOptions = {
        var o = RedisOptions()
        o.connectTimeout = 1000
        o.commandTimeout = 1000
        o.reconnectBase = 20
        o.reconnectCap = 300
        return o
    }()

    override func setUpWithError() throws {
        signal(SIGPIPE, SIG_IGN)
        _ = try RedisServer.binary("redis-server")
        temp = try TempDirectory("sy-redis")
        loop = Loop()
    }

    override func tearDown() {
        for c in clients { c.close() }
        clients = []
        if let loop { spin(loop, seconds: 0.02) }
        for s in servers { s.resume(); s.kill() }
        servers = []
        temp?.remove()
    }

    /// A started server. On a port picked here, a start that fails (another process took the
    /// port between the pick and the bind) is tried again on another port.
    func server(_ name: String = "redis", port: Int? = nil, sentinel: Bool = false, config: [String] = []) throws -> RedisServer {
        var attempt = 0
        while true {
            attempt += 1
            let s = try RedisServer(in: temp.path, name: attempt == 1 ? name : "\(name)-\(attempt)", port: port,
                                    sentinel: sentinel, config: config)
            servers.append(s)
            do {
                try s.start()
                return s
            } catch {
                s.kill()
                if port != nil || attempt == 3 { throw error }
            }
        }
    }

    func client(_ settings: RedisSettings, options: RedisOptions = RedisTestCase.fastOptions) -> RedisClient {
        let c = RedisClient(loop: loop, settings: settings, options: options) { [unowned self] line in self.logLines.append(line) }
        clients.append(c)
        c.start()
        return c
    }

    func single(_ port: Int) -> RedisSettings {
        RedisSettings(topology: .single(RedisEndpoint(host: "127.0.0.1", port: port)))
    }

    func waitUp(_ c: RedisClient, seconds: Double = 5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(runLoop(loop, seconds: seconds) { c.isUp }, "the client did not come up; log: \(logLines)", file: file, line: line)
    }
}
