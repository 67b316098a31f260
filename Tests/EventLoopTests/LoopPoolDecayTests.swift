import CSupport
@testable import EventLoop
import XCTest

/// A loop gives its pool's surplus back once the load that needed it is over: 500 chunks in use
/// at once come back into the free list, and within about two seconds of turns only the
/// class's minimum (64 of 16 KiB) is still cached.
final class LoopPoolDecayTests: XCTestCase {
    func testFreeChunksShrinkBackAfterABurst() {
        let loop = Loop()
        let chunk = 16 << 10
        let burst = (0..<500).map { _ in sy_chunk_get(loop.pool, chunk)! }
        for c in burst { sy_chunk_release(c) }
        XCTAssertEqual(sy_pool_cached_bytes(loop.pool), 500 * chunk)
        var cached: [Int] = []
        // A turn every 100 ms for 2.5 s, as a serving loop's timers give it.
        let tick = Timer(loop: loop) { cached.append(sy_pool_cached_bytes(loop.pool)) }
        tick.start(after: 100, repeat: 100)
        let end = Timer(loop: loop) { loop.stop() }
        end.start(after: 2_500)
        loop.run()
        tick.close()
        end.close()
        XCTAssertEqual(cached.first, 500 * chunk, "kept while the burst's period lasts")
        XCTAssertEqual(cached.last, 64 * chunk, "back to the minimum after an idle period")
    }
}
