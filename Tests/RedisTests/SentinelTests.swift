import EventLoop
import Foundation
import XCTest
@testable import Redis

/// Sentinel: one primary, one replica, three Sentinels on loopback. The primary is killed
/// during a bounded stream of commands, or failed over by hand while it stays up; the client
/// follows to the promoted replica without a restart (commands may fail in the failover
/// window, not after it).
final class SentinelTests: RedisTestCase {
    /// One primary, one replica, three Sentinels that know each other and the replica, the
    /// replica in sync; and a client through the Sentinels, up.
    private func startGroup() throws -> (primary: RedisServer, replica: RedisServer, client: RedisClient) {
        _ = try RedisServer.binary("redis-sentinel")
        let primary = try server("primary")
        let replica = try server("replica", config: ["replicaof 127.0.0.1 \(primary.port)"])
        var sentinels: [RedisServer] = []
        for i in 0..<3 {
            sentinels.append(try server("sentinel\(i)", sentinel: true, config: [
                "sentinel monitor mymaster 127.0.0.1 \(primary.port) 2",
                "sentinel down-after-milliseconds mymaster 1000",
                "sentinel failover-timeout mymaster 3000",
                "sentinel parallel-syncs mymaster 1",
            ]))
        }
        // They need a majority to fail over, and a replica in sync to promote.
        try waitFor(seconds: 15, "Sentinels discovered the replica and each other") {
            try sentinels.allSatisfy { s in
                let admin = try SyncRedis(port: s.port)
                guard case .array(let replicas) = try admin.command(["SENTINEL", "replicas", "mymaster"]),
                      case .array(let peers) = try admin.command(["SENTINEL", "sentinels", "mymaster"]) else { return false }
                return replicas.count == 1 && peers.count == 2
            } && (try SyncRedis(port: replica.port).command(["INFO", "replication"]).string ?? "").contains("master_link_status:up")
        }
        self.sentinels = sentinels
        let list = sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let c = client(try RedisSettings.sentinel(list, master: "mymaster", username: nil, password: nil))
        waitUp(c)
        return (primary, replica, c)
    }

    private var sentinels: [RedisServer] = []

    /// SENTINEL FAILOVER: the old master stays up (as a master, until Sentinel demotes it
    /// seconds later); the client must move its writes to the promoted replica.
    func testFollowsAManualFailoverWhileTheOldMasterStaysUp() throws {
        let (primary, replica, c) = try startGroup()
        XCTAssertEqual(roundTrip(loop, c, ["SET", "before", "1"]), .status("OK"))
        XCTAssertEqual(try SyncRedis(port: sentinels[0].port).command(["SENTINEL", "FAILOVER", "mymaster"]), .status("OK"))
        var written = false
        var attempts = 0
        let deadline = Date().addingTimeInterval(20)
        while !written && Date() < deadline {
            attempts += 1
            let reply = roundTrip(loop, c, ["SET", "after", "\(attempts)"])
            if reply == .status("OK"), case .array(let role) = try SyncRedis(port: replica.port).command(["ROLE"]),
               role.first?.string == "master" {
                written = try SyncRedis(port: replica.port).command(["GET", "after"]) == .bulk(bytes("\(attempts)"))
            }
            if !written { spin(loop, seconds: 0.05) }
        }
        XCTAssertTrue(written, "writes did not reach the promoted replica; log: \(logLines)")
        // The old master is still up and still takes writes for a while (Sentinel demotes it
        // seconds later): only following the Sentinels got the writes to the new one. Once
        // demoted, it gets them by replication, so it is asked only while it is still a master.
        XCTAssertTrue(primary.isRunning)
        let old = try SyncRedis(port: primary.port)
        if case .array(let role) = try old.command(["ROLE"]), role.first?.string == "master" {
            XCTAssertNotEqual(try old.command(["GET", "after"]), .bulk(bytes("\(attempts)")))
        }
        XCTAssertTrue(c.isUp)
    }

    func testFollowsAFailoverToThePromotedReplica() throws {
        let (primary, replica, c) = try startGroup()
        XCTAssertEqual(roundTrip(loop, c, ["SET", "before", "1"]), .status("OK"))

        // A bounded stream: 10 INCRs every 5 ms; the primary dies after 100 of them; the stream
        // ends once 300 commands in a row succeeded after the first failure (or after 25 s).
        var sent = 0, succeeded = 0, failed = 0, streak = 0
        var failedBeforeKill = 0
        var killed = false
        let streamer = EventLoop.Timer(loop: loop) {
            for _ in 0..<10 {
                sent += 1
                c.send([bytes("INCR"), bytes("sy:{failover}:n")], key: nil) { reply in
                    if reply.errorMessage == nil { succeeded += 1; streak += 1 } else { failed += 1; streak = 0 }
                }
            }
            if sent >= 100, !killed {
                killed = true
                failedBeforeKill = failed
                primary.kill()
            }
        }
        streamer.start(after: 1, repeat: 5)
        let recovered = runLoop(loop, seconds: 25) { killed && failed > 0 && streak >= 300 }
        streamer.close()
        spin(loop, seconds: 0.05)
        XCTAssertTrue(recovered, "no failover followed: sent \(sent), ok \(succeeded), failed \(failed); log: \(logLines)")
        XCTAssertEqual(failedBeforeKill, 0)
        XCTAssertTrue(c.isUp)

        // The client now writes to the promoted replica.
        let role = try SyncRedis(port: replica.port).command(["ROLE"])
        guard case .array(let fields) = role else { return XCTFail("ROLE: \(role)") }
        XCTAssertEqual(fields.first?.string, "master")
        XCTAssertEqual(roundTrip(loop, c, ["SET", "after", "failover"]), .status("OK"))
        XCTAssertEqual(try SyncRedis(port: replica.port).command(["GET", "after"]), .bulk(bytes("failover")))
        XCTAssertGreaterThanOrEqual(c.stats.reconnects, 1)
    }

    private func waitFor(seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            usleep(100_000)
        }
        throw RedisTestError("timed out: \(what)")
    }
}

/// A master that answers READONLY (it was demoted) makes the client ask the Sentinels again
/// and reconnect: fake servers, so the path runs without waiting for a real failover.
final class SentinelReadOnlyTests: RedisTestCase {
    func testReadOnlyReplyMakesTheClientResolveAgain() throws {
        let roleChecks = Locked(0)
        let writes = Locked(0)
        let master = try FakeRedis { command, _ in
            switch command.first?.uppercased() {
            case "PING": return "+PONG\r\n"
            case "ROLE":
                roleChecks.withLock { $0 += 1 }
                return "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"
            case "SET":
                let n = writes.withLock { $0 += 1; return $0 }
                return n == 1 ? "-READONLY You can't write against a read only replica.\r\n" : "+OK\r\n"
            default: return "-ERR unknown\r\n"
            }
        }
        defer { master.stop() }
        let masterPort = String(master.port)
        let sentinel = try FakeRedis { command, _ in
            switch command.first?.uppercased() {
            case "PING": return "+PONG\r\n"
            case "SENTINEL": return "*2\r\n$9\r\n127.0.0.1\r\n$\(masterPort.utf8.count)\r\n\(masterPort)\r\n"
            case "SUBSCRIBE": return "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n"
            default: return "-ERR unknown\r\n"
            }
        }
        defer { sentinel.stop() }
        let c = client(try RedisSettings.sentinel("127.0.0.1:\(sentinel.port)", master: "mymaster", username: nil, password: nil))
        waitUp(c)
        XCTAssertEqual(roleChecks.withLock { $0 }, 1)
        XCTAssertEqual(roundTrip(loop, c, ["SET", "k", "v"])?.errorCode, "READONLY")
        XCTAssertTrue(runLoop(loop, seconds: 3) { roleChecks.withLock { $0 } == 2 && c.isUp }, "no new master lookup; log: \(logLines)")
        XCTAssertEqual(roundTrip(loop, c, ["SET", "k", "v"]), .status("OK"))
        XCTAssertTrue(logLines.contains { $0.contains("READONLY") }, "\(logLines)")
    }
}
