import Dispatch
import Foundation
import Glibc
import Synchronization
import XCTest
@testable import Security

final class RateLimiterTests: XCTestCase {
    let alice = RateLimitKey(principal: Principal(subject: "alice", method: .apiKey), sourceAddress: nil)
    let bob = RateLimitKey(principal: Principal(subject: "bob", method: .apiKey), sourceAddress: nil)
    let t0: UInt64 = 1_000_000_000_000
    let second: UInt64 = 1_000_000_000

    private func temporaryDirectory() -> String {
        var template = Array("/tmp/sy-ratelimit-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let dir = String(cString: template)
        addTeardownBlock {
            unlink(dir + "/ratelimits")
            rmdir(dir)
        }
        return dir
    }

    func testBurstThenRefusalThenRefill() throws {
        let limiter = RateLimiter(rules: try RateLimits(parsing: ["echo=2/s"]))
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0), .limited(retryAfterSeconds: 1))
        // One token is back every 500 ms.
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0 + second / 2 - 1), .limited(retryAfterSeconds: 1))
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0 + second / 2), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0 + second / 2), .limited(retryAfterSeconds: 1))
        // Idle long enough, the whole burst is back (and no more).
        let later = t0 + 10 * second
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: later), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: later), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: later), .limited(retryAfterSeconds: 1))
    }

    func testPerMinuteRetryAfterRoundsUp() throws {
        let limiter = RateLimiter(rules: try RateLimits(parsing: ["*=1/m"]))
        XCTAssertEqual(limiter.check(key: alice, tool: "any", now: t0), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "any", now: t0), .limited(retryAfterSeconds: 60))
        XCTAssertEqual(limiter.check(key: alice, tool: "any", now: t0 + 59 * second + 1), .limited(retryAfterSeconds: 1))
        XCTAssertEqual(limiter.check(key: alice, tool: "any", now: t0 + 60 * second), .allowed)
    }

    func testUnlimitedToolNeverLimited() throws {
        let limiter = RateLimiter(rules: try RateLimits(parsing: ["echo=1/m"]))
        for _ in 0..<100 { XCTAssertEqual(limiter.check(key: alice, tool: "add", now: t0), .allowed) }
    }

    func testKeysAndToolsAreIndependent() throws {
        let limiter = RateLimiter(rules: try RateLimits(parsing: ["*=1/m"]))
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "echo", now: t0), .limited(retryAfterSeconds: 60))
        XCTAssertEqual(limiter.check(key: bob, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(limiter.check(key: alice, tool: "add", now: t0), .allowed)
        let here = RateLimitKey(principal: .anonymous, sourceAddress: "10.0.0.1")
        let there = RateLimitKey(principal: .anonymous, sourceAddress: "10.0.0.2")
        XCTAssertEqual(limiter.check(key: here, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(limiter.check(key: here, tool: "echo", now: t0), .limited(retryAfterSeconds: 60))
        XCTAssertEqual(limiter.check(key: there, tool: "echo", now: t0), .allowed)
    }

    func testTwoMappingsOfOneFileShareBuckets() throws {
        let path = temporaryDirectory() + "/ratelimits"
        let rules = try RateLimits(parsing: ["echo=3/m"])
        let frontA = try RateLimiter(path: path, rules: rules)
        let frontB = try RateLimiter(path: path, rules: rules)
        XCTAssertEqual(frontA.bucketHash(key: alice, tool: "echo"), frontB.bucketHash(key: alice, tool: "echo"))
        XCTAssertEqual(frontA.check(key: alice, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(frontB.check(key: alice, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(frontA.check(key: alice, tool: "echo", now: t0), .allowed)
        XCTAssertEqual(frontB.check(key: alice, tool: "echo", now: t0), .limited(retryAfterSeconds: 20))
        XCTAssertEqual(frontA.check(key: alice, tool: "echo", now: t0), .limited(retryAfterSeconds: 20))
        // A front that starts later maps the same table.
        let frontC = try RateLimiter(path: path, rules: rules)
        XCTAssertEqual(frontC.check(key: alice, tool: "echo", now: t0), .limited(retryAfterSeconds: 20))
        XCTAssertEqual(frontC.check(key: bob, tool: "echo", now: t0), .allowed)
    }

    func testAFileThatIsNoTableIsRefused() throws {
        let path = temporaryDirectory() + "/ratelimits"
        let fd = open(path, O_WRONLY | O_CREAT, 0o600)
        _ = "not a table, not a table, not a table, not a table, not a table, not a table".withCString {
            write(fd, $0, strlen($0))
        }
        close(fd)
        XCTAssertThrowsError(try RateLimiter(path: path, rules: RateLimits()))
    }

    func testThreadsHammeringOneKeyGetExactlyTheBurst() throws {
        let path = temporaryDirectory() + "/ratelimits"
        // A large burst keeps the threads racing for tokens for a while; no time passes, so
        // nothing refills and exactly the burst may be allowed.
        let rules = try RateLimits(parsing: ["echo=100000/m"])
        // Two mappings, as two fronts have.
        let mappings = [try RateLimiter(path: path, rules: rules), try RateLimiter(path: path, rules: rules)]
        let allowed = Atomic<Int>(0)
        let ready = Atomic<Int>(0)
        let workers = 4
        let now = t0
        let key = alice
        // Threads of their own (a pool may run fewer at once than the barrier waits for).
        let done = DispatchSemaphore(value: 0)
        for worker in 0..<workers {
            let limiter = mappings[worker % 2]
            Thread {
                ready.add(1, ordering: .relaxed)
                while ready.load(ordering: .relaxed) < workers {}
                var mine = 0
                for _ in 0..<60_000 where limiter.check(key: key, tool: "echo", now: now) == .allowed { mine += 1 }
                allowed.add(mine, ordering: .relaxed)
                done.signal()
            }.start()
        }
        for _ in 0..<workers { done.wait() }
        XCTAssertEqual(allowed.load(ordering: .relaxed), 100_000)
        XCTAssertEqual(mappings[0].fullCount, 0)
    }

    func testTwoProcessesShareOneBucket() throws {
        let path = temporaryDirectory() + "/ratelimits"
        let rules = try RateLimits(parsing: ["echo=100000/m"])
        let frontA = try RateLimiter(path: path, rules: rules)
        let frontB = try RateLimiter(path: path, rules: rules)
        let rule = try XCTUnwrap(rules.rule(for: "echo"))
        let bucket = frontA.bucketHash(key: alice, tool: "echo")
        // Each child reports how many calls it was allowed in a shared page.
        let counts = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)!
            .assumingMemoryBound(to: Int.self)
        defer { munmap(counts, 4096) }
        counts[0] = 0
        counts[1] = 0
        let now = t0
        var children: [pid_t] = []
        for (i, limiter) in [frontA, frontB].enumerated() {
            let pid = fork()
            if pid == 0 {
                // The child only calls into the table (no allocation) and leaves with _exit.
                var mine = 0
                for _ in 0..<80_000 where limiter.take(bucket: bucket, rule: rule, now: now) == .allowed { mine += 1 }
                counts[i] = mine
                _exit(0)
            }
            XCTAssertGreaterThan(pid, 0)
            children.append(pid)
        }
        for pid in children {
            var status: Int32 = 0
            XCTAssertEqual(waitpid(pid, &status, 0), pid)
        }
        XCTAssertEqual(counts[0] + counts[1], 100_000)
        XCTAssertEqual(frontA.check(key: alice, tool: "echo", now: now), .limited(retryAfterSeconds: 1))
    }

    func testThreadsInsertingManyNewKeysNeverExceedTheirBursts() throws {
        let limiter = RateLimiter(rules: try RateLimits(parsing: ["*=3/m"]), slots: 4096)
        let allowed = Atomic<Int>(0)
        let now = t0
        // Every worker asks for the same 500 new keys, 10 times each, racing on insertion.
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<10 {
                for i in 0..<500 {
                    let key = RateLimitKey(principal: .anonymous, sourceAddress: "10.1.\(i / 250).\(i % 250)")
                    if limiter.check(key: key, tool: "t", now: now) == .allowed { allowed.add(1, ordering: .relaxed) }
                }
            }
        }
        XCTAssertEqual(allowed.load(ordering: .relaxed), 500 * 3)
        XCTAssertEqual(limiter.fullCount, 0)
    }

    func testFullTableAllowsAndCountsThenReclaimsStaleBuckets() throws {
        // 16 slots: every key's probe window is the whole table.
        let limiter = RateLimiter(rules: try RateLimits(parsing: ["*=1/s"]), slots: 16)
        let keys = (0..<17).map { RateLimitKey(principal: .anonymous, sourceAddress: "192.0.2.\($0)") }
        for k in keys.prefix(16) { XCTAssertEqual(limiter.check(key: k, tool: "t", now: t0), .allowed) }
        XCTAssertEqual(limiter.liveBuckets(now: t0), 16)
        // The 17th key finds no room: allowed, counted, never blocked.
        XCTAssertEqual(limiter.check(key: keys[16], tool: "t", now: t0), .allowed)
        XCTAssertEqual(limiter.check(key: keys[16], tool: "t", now: t0), .allowed)
        XCTAssertEqual(limiter.fullCount, 2)
        // The 16 live buckets still hold.
        XCTAssertEqual(limiter.check(key: keys[0], tool: "t", now: t0), .limited(retryAfterSeconds: 1))
        // Once refilled, buckets are stale and the newcomer takes one over, limited as it should be.
        let later = t0 + 2 * second
        XCTAssertEqual(limiter.check(key: keys[16], tool: "t", now: later), .allowed)
        XCTAssertEqual(limiter.check(key: keys[16], tool: "t", now: later), .limited(retryAfterSeconds: 1))
        XCTAssertEqual(limiter.reclaimedCount, 1)
        XCTAssertEqual(limiter.fullCount, 2)
    }

    /// Not a test of speed (nothing is asserted): prints the cost of one check when
    /// SWITCHYARD_BENCH is set, for the report and bench/README.md.
    func testMeasureCheckCost() throws {
        guard getenv("SWITCHYARD_BENCH") != nil else { throw XCTSkip("set SWITCHYARD_BENCH=1 to measure") }
        let limiter = RateLimiter(rules: try RateLimits(parsing: ["*=1000000/s"]))
        let keys = (0..<1024).map { RateLimitKey(principal: Principal(subject: "user-\($0)", method: .oauth),
                                                 sourceAddress: nil) }
        let n = 2_000_000
        var allowed = 0
        let start = RateLimiter.now()
        for i in 0..<n where limiter.check(key: keys[i & 1023], tool: "echo", now: start + UInt64(i)) == .allowed {
            allowed += 1
        }
        let ns = Double(RateLimiter.now() - start) / Double(n)
        print("rate-limit check: \(String(format: "%.1f", ns)) ns per check (\(allowed) allowed of \(n))")
    }
}
