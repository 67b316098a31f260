import EventLoop
import Foundation
import XCTest
@testable import Redis

/// Sentinel: one primary, one replica, three Sentinels on loopback. The primary is killed
/// during a bounded stream of commands; the client follows the failover to the promoted
/// replica without a restart (commands may fail in the failover window, not after it).
final class SentinelTests: RedisTestCase {
    func testFollowsAFailoverToThePromotedReplica() throws {
        _ = try RedisServer.binary("redis-sentinel")
        let primary = try server("primary")
        let replica = try server("replica", config: ["replicaof 127.0.0.1 \(primary.port)"])
        var sentinels: [RedisServer] = []
        for i in 0..<3 {
            let s = try RedisServer(in: temp.path, name: "sentinel\(i)", sentinel: true, config: [
                "sentinel monitor mymaster 127.0.0.1 \(primary.port) 2",
                "sentinel down-after-milliseconds mymaster 1000",
                "sentinel failover-timeout mymaster 3000",
                "sentinel parallel-syncs mymaster 1",
            ])
            servers.append(s)
            try s.start()
            sentinels.append(s)
        }
        // The Sentinels know the replica and each other (they need a majority to fail over),
        // and the replica is in sync.
        try waitFor(seconds: 15, "Sentinels discovered the replica and each other") {
            try sentinels.allSatisfy { s in
                let admin = try SyncRedis(port: s.port)
                guard case .array(let replicas) = try admin.command(["SENTINEL", "replicas", "mymaster"]),
                      case .array(let peers) = try admin.command(["SENTINEL", "sentinels", "mymaster"]) else { return false }
                return replicas.count == 1 && peers.count == 2
            } && (try SyncRedis(port: replica.port).command(["INFO", "replication"]).string ?? "").contains("master_link_status:up")
        }

        let list = sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let c = client(try RedisSettings.sentinel(list, master: "mymaster", username: nil, password: nil))
        waitUp(c)
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
