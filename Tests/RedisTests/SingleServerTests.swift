import EventLoop
import Foundation
import Glibc
import XCTest
@testable import Redis

/// One real redis-server: commands, pipelining, errors, ACL login, restarts, a server that
/// stops answering, pub/sub across a restart, scripts.
final class SingleServerTests: RedisTestCase {
    func testCommandsRepliesAndPipelining() throws {
        let redis = try server()
        // A name, resolved off the loop (localhost may give ::1 first: the server listens on
        // 127.0.0.1 only, so the next attempt takes the next address).
        let c = client(try RedisSettings.parse(url: "redis://localhost:\(redis.port)"))
        waitUp(c)
        XCTAssertEqual(roundTrip(loop, c, ["SET", "k", "v"]), .status("OK"))
        XCTAssertEqual(roundTrip(loop, c, ["GET", "k"]), .bulk(bytes("v")))
        XCTAssertEqual(roundTrip(loop, c, ["GET", "missing"]), .null)
        XCTAssertEqual(roundTrip(loop, c, ["RPUSH", "l", "a", "b"]), .integer(2))
        XCTAssertEqual(roundTrip(loop, c, ["LRANGE", "l", "0", "-1"]), .array([.bulk(bytes("a")), .bulk(bytes("b"))]))
        // Binary-safe values.
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42]
        var got: RedisReply?
        c.send([bytes("SET"), bytes("bin"), binary], key: nil) { _ in
            c.send([bytes("GET"), bytes("bin")], key: nil) { got = $0 }
        }
        runLoop(loop, seconds: 5) { got != nil }
        XCTAssertEqual(got, .bulk(binary))

        // Many commands in flight at once: every reply once, in order.
        let count = 20_000
        var replies: [Int64] = []
        var calls = 0
        for _ in 0..<count {
            c.send([bytes("INCR"), bytes("counter")], key: nil) { reply in
                calls += 1
                if case .integer(let n) = reply { replies.append(n) }
            }
        }
        XCTAssertTrue(runLoop(loop, seconds: 20) { calls >= count })
        spin(loop, seconds: 0.05)
        XCTAssertEqual(calls, count)
        XCTAssertEqual(replies, Array(1...Int64(count)))
        XCTAssertEqual(c.stats.commands, UInt64(count) + 7)
        XCTAssertTrue(c.stats.isUp)
    }

    func testCommandsBeyondMaxPendingAreRefused() throws {
        let redis = try server()
        var options = RedisTestCase.fastOptions
        options.maxPending = 10
        let c = client(single(redis.port), options: options)
        waitUp(c)
        var replies: [RedisReply] = []
        for _ in 0..<25 { c.send([bytes("PING")], key: nil) { replies.append($0) } }
        XCTAssertEqual(replies.count, 15, "refused at once")
        XCTAssertTrue(replies.allSatisfy { $0.errorCode == "BUSY" }, "\(replies)")
        XCTAssertTrue(runLoop(loop, seconds: 5) { replies.count == 25 })
        XCTAssertEqual(replies.suffix(10), Array(repeating: .status("PONG"), count: 10))
        XCTAssertEqual(roundTrip(loop, c, ["PING"]), .status("PONG"), "accepted again once replies came")
    }

    func testErrorRepliesAndRefusedCommands() throws {
        let redis = try server()
        let c = client(single(redis.port))
        waitUp(c)
        _ = roundTrip(loop, c, ["RPUSH", "list", "x"])
        let wrongType = roundTrip(loop, c, ["GET", "list"])
        XCTAssertEqual(wrongType?.errorCode, "WRONGTYPE")
        XCTAssertEqual(roundTrip(loop, c, ["NOSUCHCOMMAND"])?.errorCode, "ERR")
        // Pub/sub and monitor would change the connection's mode: refused at once.
        var refused: RedisReply?
        c.send([bytes("subscribe"), bytes("ch")], key: nil) { refused = $0 }
        XCTAssertEqual(refused?.errorCode, "ERR")
        refused = nil
        c.send([], key: nil) { refused = $0 }
        XCTAssertEqual(refused, .error("ERR empty command"))
        XCTAssertEqual(roundTrip(loop, c, ["PING"]), .status("PONG"), "the connection survives errors")
        XCTAssertEqual(c.stats.errors, 4)
    }

    func testACLUserAndDatabase() throws {
        let redis = try server(config: ["user default off", "user alice on >s3cret-pw ~* &* +@all"])
        let settings = try RedisSettings.parse(url: "redis://alice:s3cret-pw@127.0.0.1:\(redis.port)/2")
        let c = client(settings)
        waitUp(c)
        XCTAssertEqual(roundTrip(loop, c, ["SET", "acl-key", "1"]), .status("OK"))
        let admin = try SyncRedis(port: redis.port)
        XCTAssertEqual(try admin.command(["AUTH", "alice", "s3cret-pw"]), .status("OK"))
        try admin.command(["SELECT", "2"])
        XCTAssertEqual(try admin.command(["GET", "acl-key"]), .bulk(bytes("1")), "SELECT 2 was applied")

        // A wrong password: never up, and the log says why without the secret.
        var wrong = settings
        wrong.password = "not-the-password"
        let bad = client(wrong)
        spin(loop, seconds: 0.5)
        XCTAssertFalse(bad.isUp)
        var reply: RedisReply?
        bad.send([bytes("PING")], key: nil) { reply = $0 }
        XCTAssertEqual(reply?.errorCode, "DOWN")
        let log = logLines.joined(separator: "\n")
        XCTAssertTrue(log.contains("AUTH refused"), log)
        XCTAssertFalse(log.contains("not-the-password") || log.contains("s3cret-pw"), log)
    }

    func testPasswordOnly() throws {
        let redis = try server(config: ["requirepass only-a-password"])
        let c = client(try RedisSettings.parse(url: "redis://:only-a-password@127.0.0.1:\(redis.port)"))
        waitUp(c)
        XCTAssertEqual(roundTrip(loop, c, ["PING"]), .status("PONG"))
        let anonymous = client(single(redis.port))
        spin(loop, seconds: 0.3)
        XCTAssertFalse(anonymous.isUp, "a server that needs a password let the client up without one")
        XCTAssertTrue(logLines.contains { $0.contains("NOAUTH") }, "\(logLines)")
    }

    /// serve's start-up check: nil when the handshake is answered, else why not, never the password.
    func testProbeSaysWhyRedisCannotBeReached() throws {
        let redis = try server(config: ["requirepass probe-pw"])
        let liveBefore = RedisConnection.live.load(ordering: .relaxed)
        XCTAssertNil(RedisProbe.unreachable(try RedisSettings.parse(url: "redis://:probe-pw@127.0.0.1:\(redis.port)"),
                                            timeoutMs: 3000))
        let refused = RedisProbe.unreachable(try RedisSettings.parse(url: "redis://:x-not-it-x@127.0.0.1:\(redis.port)"),
                                             timeoutMs: 1500)
        XCTAssertTrue(refused?.contains("AUTH refused: WRONGPASS") == true, refused ?? "nil")
        XCTAssertFalse(refused?.contains("x-not-it-x") ?? true)
        let anonymous = RedisProbe.unreachable(single(redis.port), timeoutMs: 1500)
        XCTAssertTrue(anonymous?.contains("NOAUTH") == true, anonymous ?? "nil")
        redis.kill()
        let closed = RedisProbe.unreachable(single(redis.port), timeoutMs: 1500)
        XCTAssertTrue(closed?.contains("Connection refused") == true, closed ?? "nil")
        XCTAssertEqual(RedisConnection.live.load(ordering: .relaxed), liveBefore, "a probe's connection was kept")
    }

    func testReconnectsAfterTheServerIsKilledAndRestarted() throws {
        let redis = try server()
        let liveBefore = RedisConnection.live.load(ordering: .relaxed)
        let c = client(single(redis.port))
        var changes: [Bool] = []
        c.onStateChange = { changes.append($0) }
        waitUp(c)
        // Commands in flight when the server dies: each gets exactly one reply.
        let inFlight = 2000
        var calls = [Int](repeating: 0, count: inFlight)
        for i in 0..<inFlight {
            c.send([bytes("INCR"), bytes("n")], key: nil) { _ in calls[i] += 1 }
        }
        redis.kill()
        XCTAssertTrue(runLoop(loop, seconds: 3) { !c.isUp }, "isUp did not go false")
        spin(loop, seconds: 0.1)
        XCTAssertEqual(calls.filter { $0 != 1 }.count, 0, "a command was answered twice or never")

        // While down: DOWN at once, before the loop runs again.
        var down: RedisReply?
        c.send([bytes("GET"), bytes("n")], key: nil) { down = $0 }
        XCTAssertEqual(down?.errorCode, "DOWN")

        try redis.start()
        waitUp(c, seconds: 5)
        XCTAssertEqual(roundTrip(loop, c, ["SET", "after", "restart"]), .status("OK"))
        XCTAssertEqual(changes, [true, false, true])
        XCTAssertEqual(c.stats.reconnects, 1)
        XCTAssertEqual(RedisConnection.live.load(ordering: .relaxed), liveBefore + 1, "failed connections were not released")
    }

    func testServerThatNeverAnswersFailsWithinTheCommandTimeout() throws {
        // A socket that accepts and never answers: the handshake never completes.
        let silent = try SilentListener()
        let c = client(single(silent.port))
        spin(loop, seconds: 1.5)
        XCTAssertFalse(c.isUp)
        var reply: RedisReply?
        c.send([bytes("PING")], key: nil) { reply = $0 }
        XCTAssertEqual(reply?.errorCode, "DOWN")

        // A real server that stops answering (SIGSTOP) with commands in flight.
        let redis = try server()
        let live = client(single(redis.port))
        waitUp(live)
        redis.pause()
        let started = Date()
        var errors: [String] = []
        for _ in 0..<10 {
            live.send([bytes("PING")], key: nil) { errors.append($0.errorMessage ?? "not an error") }
        }
        XCTAssertTrue(runLoop(loop, seconds: 3) { errors.count == 10 })
        // The timeout plus at most two watchdog periods (250 ms each here).
        let waited = Date().timeIntervalSince(started)
        XCTAssertLessThan(waited, 1.0 + 1.2, "replies failed too late")
        XCTAssertGreaterThan(waited, 0.9, "replies failed before the timeout")
        XCTAssertTrue(errors.allSatisfy { $0.hasPrefix("DOWN") && $0.contains("no reply within") }, "\(errors)")
        XCTAssertFalse(live.isUp)
        XCTAssertGreaterThanOrEqual(live.stats.timeouts, 1)
        redis.resume()
        waitUp(live)
        XCTAssertEqual(roundTrip(loop, live, ["PING"]), .status("PONG"))
    }

    func testPubSubResubscribesAfterRestart() throws {
        let redis = try server()
        let c = client(single(redis.port))
        var messages: [String] = []
        var readies = 0
        c.subscribe(bytes("sy:test"), onMessage: { messages.append(String(decoding: $0, as: UTF8.self)) }, ready: { readies += 1 })
        XCTAssertTrue(runLoop(loop, seconds: 5) { readies == 1 })
        let publisher = try SyncRedis(port: redis.port)
        XCTAssertEqual(try publisher.command(["PUBLISH", "sy:test", "one"]), .integer(1))
        XCTAssertTrue(runLoop(loop, seconds: 5) { messages == ["one"] })

        XCTAssertTrue(c.isSubscriberUp)
        redis.kill()
        XCTAssertTrue(runLoop(loop, seconds: 5) { !c.isSubscriberUp }, "the pub/sub connection's loss not seen")
        try redis.start()
        XCTAssertTrue(runLoop(loop, seconds: 5) { readies == 2 }, "not resubscribed; log: \(logLines)")
        XCTAssertTrue(c.isSubscriberUp)
        XCTAssertEqual(try SyncRedis(port: redis.port).command(["PUBLISH", "sy:test", "two"]), .integer(1))
        XCTAssertTrue(runLoop(loop, seconds: 5) { messages == ["one", "two"] })

        c.unsubscribe(bytes("sy:test"))
        spin(loop, seconds: 0.2)
        XCTAssertEqual(try SyncRedis(port: redis.port).command(["PUBLISH", "sy:test", "three"]), .integer(0))
        XCTAssertEqual(c.stats.messages, 2)
    }

    func testSubscribeBeforeStart() throws {
        let redis = try server()
        let c = RedisClient(loop: loop, settings: single(redis.port), options: RedisTestCase.fastOptions) { _ in }
        clients.append(c)
        var ready = 0
        c.subscribe(bytes("early"), onMessage: { _ in }, ready: { ready += 1 })
        spin(loop, seconds: 0.1)
        XCTAssertEqual(ready, 0, "connected before start()")
        c.start()
        XCTAssertTrue(runLoop(loop, seconds: 5) { ready == 1 })
        XCTAssertEqual(try SyncRedis(port: redis.port).command(["PUBSUB", "NUMSUB", "early"]), .array([.bulk(bytes("early")), .integer(1)]))
    }

    func testEvalShaFallsBackToEvalOnNoScript() throws {
        let redis = try server()
        let c = client(single(redis.port))
        waitUp(c)
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        let admin = try SyncRedis(port: redis.port)
        XCTAssertEqual(try admin.command(["SCRIPT", "LOAD", script.source]), .bulk(bytes(script.sha1)), "our SHA1 is Redis' SHA1")
        try admin.command(["SCRIPT", "FLUSH"])

        var results: [RedisReply] = []
        c.eval(script, keys: [bytes("sy:{s}:n")], args: [bytes("5")]) { results.append($0) }
        XCTAssertTrue(runLoop(loop, seconds: 5) { results.count == 1 })
        c.eval(script, keys: [bytes("sy:{s}:n")], args: [bytes("2")]) { results.append($0) }
        XCTAssertTrue(runLoop(loop, seconds: 5) { results.count == 2 })
        XCTAssertEqual(results, [.integer(5), .integer(7)])
        let stats = try admin.command(["INFO", "commandstats"]).string ?? ""
        XCTAssertTrue(stats.contains("cmdstat_eval:calls=1,"), stats)
        XCTAssertTrue(stats.contains("cmdstat_evalsha:calls=2,"), stats)
    }

    func testCloseLeavesNoHandleAndFailsPendingReplies() throws {
        let redis = try server()
        let baseline = loop.registeredHandles
        let liveBefore = RedisConnection.live.load(ordering: .relaxed)
        do {
            let c = RedisClient(loop: loop, settings: single(redis.port), options: RedisTestCase.fastOptions) { _ in }
            c.start()
            c.subscribe(bytes("ch"), onMessage: { _ in }, ready: nil)
            waitUp(c)
            var replies = 0
            for _ in 0..<100 { c.send([bytes("PING")], key: nil) { _ in replies += 1 } }
            c.close()
            XCTAssertEqual(replies, 100, "pending replies answered at close")
            XCTAssertFalse(c.isUp)
            var after: RedisReply?
            c.send([bytes("PING")], key: nil) { after = $0 }
            XCTAssertEqual(after?.errorCode, "DOWN")
        }
        spin(loop, seconds: 0.1)
        XCTAssertEqual(loop.registeredHandles, baseline, "a handle outlived close()")
        XCTAssertEqual(RedisConnection.live.load(ordering: .relaxed), liveBefore, "a connection outlived close()")
    }
}
