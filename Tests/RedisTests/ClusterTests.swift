import EventLoop
import Foundation
import XCTest
@testable import Redis

/// A three-master Redis Cluster on loopback (no replicas): keys spread over the nodes, MOVED
/// followed after a slot changed owner behind the client's back, a slot migrated (ASK, then
/// MOVED) during a bounded stream of commands without one error, pub/sub across nodes.
final class ClusterTests: RedisTestCase {
    private var nodes: [RedisServer] = []

    private func startCluster() throws {
        _ = try RedisServer.binary("redis-cli")
        for i in 0..<3 {
            nodes.append(try server("node\(i)", config: ["cluster-enabled yes", "cluster-config-file nodes.conf",
                                                          "cluster-node-timeout 2000"]))
        }
        let create = Process()
        create.executableURL = URL(fileURLWithPath: try RedisServer.binary("redis-cli"))
        create.arguments = ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
            + ["--cluster-replicas", "0", "--cluster-yes"]
        let output = Pipe()
        create.standardOutput = output
        create.standardError = output
        try create.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        create.waitUntilExit()
        guard create.terminationStatus == 0 else { throw RedisTestError("redis-cli --cluster create failed: \(text)") }
        // Every node sees the three masters before the client starts.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let ready = try nodes.allSatisfy { node in
                let info = try SyncRedis(port: node.port).command(["CLUSTER", "INFO"]).string ?? ""
                guard info.contains("cluster_state:ok") else { return false }
                guard case .array(let ranges) = try SyncRedis(port: node.port).command(["CLUSTER", "SLOTS"]) else { return false }
                return ranges.count == 3
            }
            if ready { return }
            usleep(50_000)
        }
        throw RedisTestError("the cluster did not settle")
    }

    private func clusterClient() throws -> RedisClient {
        // Only one seed: the client learns the rest from CLUSTER SLOTS.
        let c = client(try RedisSettings.cluster("127.0.0.1:\(nodes[0].port)", username: nil, password: nil))
        waitUp(c)
        return c
    }

    private func nodeID(_ node: RedisServer) throws -> String {
        try SyncRedis(port: node.port).command(["CLUSTER", "MYID"]).string ?? ""
    }

    private func owner(ofSlot slot: Int) throws -> RedisServer {
        for node in nodes {
            guard case .array(let ranges) = try SyncRedis(port: node.port).command(["CLUSTER", "SLOTS"]) else { continue }
            for case .array(let fields) in ranges {
                if case .integer(let start) = fields[0], case .integer(let end) = fields[1], start...end ~= Int64(slot),
                   case .array(let master) = fields[2], case .integer(let port) = master[1] {
                    return nodes.first { $0.port == Int(port) }!
                }
            }
        }
        throw RedisTestError("no owner for slot \(slot)")
    }

    func testKeysSpreadOverNodesMovedFollowedAndPubSub() throws {
        try startCluster()
        let handlesBefore = loop.registeredHandles
        let liveBefore = RedisConnection.live.load(ordering: .relaxed)
        let c = try clusterClient()
        let count = 300
        var ok = 0
        for i in 0..<count {
            let key = "key:\(i)"
            c.send([bytes("SET"), bytes(key), bytes("v\(i)")], key: bytes(key)) { if $0 == .status("OK") { ok += 1 } }
        }
        XCTAssertTrue(runLoop(loop, seconds: 10) { ok == count }, "log: \(logLines)")
        let sizes = try nodes.map { node -> Int64 in
            guard case .integer(let n) = try SyncRedis(port: node.port).command(["DBSIZE"]) else { return -1 }
            return n
        }
        XCTAssertEqual(sizes.reduce(0, +), Int64(count))
        XCTAssertTrue(sizes.allSatisfy { $0 > 50 }, "keys not spread: \(sizes)")

        // Move the (empty) slot of a fresh key to another node behind the client's back:
        // the client's map is stale, the old owner answers MOVED.
        let key = "moved-key"
        let slot = ClusterSlot.of(bytes(key))
        let from = try owner(ofSlot: slot)
        let to = nodes.first { $0 !== from }!
        let toID = try nodeID(to)
        for node in nodes { try SyncRedis(port: node.port).command(["CLUSTER", "SETSLOT", "\(slot)", "NODE", toID]) }
        let before = c.stats.redirections
        XCTAssertEqual(roundTrip(loop, c, ["SET", key, "x"], key: key), .status("OK"))
        XCTAssertEqual(c.stats.redirections, before + 1)
        XCTAssertEqual(try SyncRedis(port: to.port).command(["GET", key]), .bulk(bytes("x")))
        XCTAssertEqual(roundTrip(loop, c, ["GET", key], key: key), .bulk(bytes("x")))
        XCTAssertEqual(c.stats.redirections, before + 1, "the map was corrected")

        // Pub/sub: a classic SUBSCRIBE on one node receives a PUBLISH made on any node.
        var messages: [String] = []
        var ready = false
        c.subscribe(bytes("sy:cluster"), onMessage: { messages.append(String(decoding: $0, as: UTF8.self)) }, ready: { ready = true })
        XCTAssertTrue(runLoop(loop, seconds: 5) { ready })
        for node in nodes { try SyncRedis(port: node.port).command(["PUBLISH", "sy:cluster", "from \(node.port)"]) }
        XCTAssertTrue(runLoop(loop, seconds: 5) { messages.count == 3 }, "\(messages)")

        // A node goes away: commands for its slots fail at once (DOWN), the others still work,
        // and the client stays up.
        let dead = nodes[2]
        dead.kill()
        var outcomes: [String: Int] = [:]
        var done = 0
        for i in 0..<count {
            let key = "key:\(i)"
            c.send([bytes("GET"), bytes(key)], key: bytes(key)) { reply in
                done += 1
                outcomes[reply.errorCode.map(String.init) ?? "ok", default: 0] += 1
            }
        }
        XCTAssertTrue(runLoop(loop, seconds: 5) { done == count })
        XCTAssertEqual(Set(outcomes.keys), ["ok", "DOWN"], "\(outcomes)")
        XCTAssertEqual(Int64(outcomes["ok"] ?? 0), sizes[0] + sizes[1], "\(outcomes)")
        XCTAssertTrue(c.isUp)

        // close() leaves no handle on the loop.
        c.close()
        spin(loop, seconds: 0.1)
        XCTAssertEqual(loop.registeredHandles, handlesBefore, "a handle outlived close()")
        XCTAssertEqual(RedisConnection.live.load(ordering: .relaxed), liveBefore, "a connection outlived close()")
    }

    func testSlotMigrationDuringAStreamOfCommandsCausesNoError() throws {
        try startCluster()
        let c = try clusterClient()
        // 200 keys in one slot (one hash tag), each incremented once before the migration.
        let keys = (0..<200).map { "sy:{migrating}:\($0)" }
        let slot = ClusterSlot.of(bytes(keys[0]))
        var answered = 0
        for key in keys { c.send([bytes("INCR"), bytes(key)], key: bytes(key)) { _ in answered += 1 } }
        XCTAssertTrue(runLoop(loop, seconds: 5) { answered == keys.count })

        let source = try owner(ofSlot: slot)
        let target = nodes.first { $0 !== source }!
        let sourceID = try nodeID(source), targetID = try nodeID(target)
        let targetPort = target.port, sourcePort = source.port, allPorts = nodes.map(\.port)

        // The migration runs on another thread (blocking admin calls) while the loop streams.
        let migrated = Locked(false)
        let migrationError = Locked<String?>(nil)
        let migration = Thread {
            do {
                try SyncRedis(port: targetPort).command(["CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", sourceID])
                try SyncRedis(port: sourcePort).command(["CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", targetID])
                let admin = try SyncRedis(port: sourcePort)
                while true {
                    guard case .array(let batch) = try admin.command(["CLUSTER", "GETKEYSINSLOT", "\(slot)", "5"]),
                          !batch.isEmpty else { break }
                    let names = batch.compactMap(\.string)
                    let reply = try admin.command(["MIGRATE", "127.0.0.1", "\(targetPort)", "", "0", "5000", "KEYS"] + names)
                    if case .error(let e) = reply { throw RedisTestError("MIGRATE: \(e)") }
                    usleep(10_000) // about 0.4 s in all: the stream meets the slot half-moved
                }
                for port in [targetPort, sourcePort] + allPorts.filter({ $0 != targetPort && $0 != sourcePort }) {
                    try SyncRedis(port: port).command(["CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID])
                }
            } catch {
                migrationError.withLock { $0 = "\(error)" }
            }
            migrated.withLock { $0 = true }
        }

        // A bounded stream: 40 INCRs every 2 ms over the slot's keys until the migration is
        // over (ASK for the keys already moved), then 400 more (which meet MOVED), at most 10 s.
        var sent = 0, replies = 0
        var errors: [String] = []
        var increments = [String: Int]()
        var afterMigration = 0, duringMigration = 0
        let streamer = EventLoop.Timer(loop: loop) {
            guard afterMigration < 400 else { return }
            if migrated.withLock({ $0 }) { afterMigration += 40 } else { duringMigration += 40 }
            for _ in 0..<40 {
                let key = keys[sent % keys.count]
                sent += 1
                increments[key, default: 0] += 1
                c.send([bytes("INCR"), bytes(key)], key: bytes(key)) { reply in
                    replies += 1
                    if let e = reply.errorMessage { errors.append(e) }
                }
            }
        }
        streamer.start(after: 1, repeat: 2)
        migration.start()
        let finished = runLoop(loop, seconds: 10) { afterMigration >= 400 && replies == sent }
        streamer.close()
        XCTAssertTrue(finished, "stream did not finish: sent \(sent), replies \(replies), log: \(logLines)")
        XCTAssertNil(migrationError.withLock { $0 })
        XCTAssertEqual(errors, [], "errors during the migration")
        XCTAssertGreaterThan(c.stats.redirections, 0, "no ASK or MOVED was met")
        XCTAssertGreaterThanOrEqual(duringMigration, 200, "the stream hardly overlapped the migration")

        // Every increment landed exactly once, on the new owner.
        let check = try SyncRedis(port: target.port)
        for key in keys {
            XCTAssertEqual(try check.command(["GET", key]), .bulk(bytes(String(1 + increments[key, default: 0]))), key)
        }
        XCTAssertEqual(try SyncRedis(port: source.port).command(["CLUSTER", "COUNTKEYSINSLOT", "\(slot)"]), .integer(0))
    }
}

/// A node that answers MOVED to itself forever: the client follows a bounded number of
/// redirections, then fails the command with REDIRECT.
final class ClusterRedirectionLimitTests: RedisTestCase {
    func testEndlessMovedGivesUpAfterTheLimit() throws {
        let fake = try FakeRedis { command, port in
            switch command.first?.uppercased() {
            case "PING": return "+PONG\r\n"
            case "CLUSTER": return "*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:\(port)\r\n$2\r\nid\r\n"
            default: return "-MOVED 1234 127.0.0.1:\(port)\r\n"
            }
        }
        defer { fake.stop() }
        let c = client(try RedisSettings.cluster("127.0.0.1:\(fake.port)", username: nil, password: nil))
        waitUp(c)
        let reply = roundTrip(loop, c, ["GET", "k"], key: "k")
        XCTAssertEqual(reply?.errorCode, "REDIRECT", "\(String(describing: reply))")
        XCTAssertEqual(c.stats.redirections, UInt64(RedisOptions().maxRedirections))
    }

    /// TRYAGAIN (a multi-key command during a migration) is retried after a short delay, as
    /// many times as redirections, then fails; a command pending at close() (waiting for its
    /// next try, or on the wire) is answered.
    func testTryAgainIsRetriedThenGivesUp() throws {
        let fake = try FakeRedis { command, port in
            switch command.first?.uppercased() {
            case "PING": return "+PONG\r\n"
            case "CLUSTER": return "*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:\(port)\r\n$2\r\nid\r\n"
            default: return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
            }
        }
        defer { fake.stop() }
        let c = client(try RedisSettings.cluster("127.0.0.1:\(fake.port)", username: nil, password: nil))
        waitUp(c)
        let started = Date()
        let reply = roundTrip(loop, c, ["MGET", "{a}1", "{a}2"], key: "{a}1")
        XCTAssertEqual(reply?.errorCode, "REDIRECT", "\(String(describing: reply))")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.09, "5 retries 20 ms apart")

        var atClose: RedisReply?
        c.send([bytes("MGET"), bytes("{a}1")], key: bytes("{a}1")) { atClose = $0 }
        // A round trip on loopback takes well under 10 ms: the command now mostly waits 20 ms
        // for its next try.
        spin(loop, seconds: 0.01)
        XCTAssertNil(atClose)
        c.close()
        spin(loop, seconds: 0.05)
        XCTAssertNotNil(atClose, "a command waiting to retry was never answered")
    }
}

/// A value shared with the migration thread.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
