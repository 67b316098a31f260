import CLibUV
import CSupport
import EventLoop
import Glibc
import XCTest

final class BufferTests: XCTestCase {
    func testPoolRecyclesAndCountsOutstanding() {
        let pool = sy_pool_new()!
        defer { sy_pool_free(pool) }
        let a = sy_chunk_get(pool, 100)!
        XCTAssertEqual(a.pointee.cap, 4096)
        XCTAssertEqual(sy_pool_outstanding(pool), 1)
        sy_chunk_retain(a)
        sy_chunk_release(a)
        XCTAssertEqual(sy_pool_outstanding(pool), 1, "one reference left")
        sy_chunk_release(a)
        XCTAssertEqual(sy_pool_outstanding(pool), 0)
        XCTAssertEqual(sy_pool_cached_bytes(pool), 4096)
        let b = sy_chunk_get(pool, 4096)!
        XCTAssertEqual(b, a, "a freed chunk is reused")
        let big = sy_chunk_get(pool, 40 << 20)!
        XCTAssertEqual(big.pointee.size_class, -1)
        sy_chunk_release(b)
        sy_chunk_release(big)
        XCTAssertEqual(sy_pool_outstanding(pool), 0)
    }

    func testInbufAppendsConsumesAndGrowsKeepingUnconsumedBytes() {
        let pool = sy_pool_new()!
        defer { sy_pool_free(pool) }
        var inbuf = sy_inbuf_t()
        var buf = uv_buf_t()
        XCTAssertEqual(sy_inbuf_alloc(&inbuf, pool, 16, &buf), 0)
        memcpy(buf.base, "hello world", 11)
        sy_inbuf_commit(&inbuf, 11)
        sy_inbuf_consume(&inbuf, 6)
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: sy_inbuf_data(&inbuf),
                                                               count: sy_inbuf_length(&inbuf)), as: UTF8.self), "world")
        // A slice held elsewhere keeps the old chunk alive while the buffer moves on.
        let old = inbuf.chunk!
        sy_chunk_retain(old)
        XCTAssertEqual(sy_inbuf_reserve(&inbuf, pool, 100_000), 0)
        XCTAssertNotEqual(inbuf.chunk, old)
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: sy_inbuf_data(&inbuf),
                                                               count: sy_inbuf_length(&inbuf)), as: UTF8.self), "world")
        sy_chunk_release(old)
        sy_inbuf_consume(&inbuf, 5)
        XCTAssertNil(inbuf.chunk, "an empty buffer holds no chunk")
        XCTAssertEqual(sy_pool_outstanding(pool), 0)
    }

    /// The output queue over a real socket pair: copies and references leave in order, and
    /// every chunk reference is released once written.
    func testOutputQueueWritesInOrderAndReleasesChunks() throws {
        let loop = Loop()
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer { close(fds[1]) }
        let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
        uv_pipe_init(loop.uv, pipe, 0)
        XCTAssertEqual(uv_pipe_open(pipe, fds[0]), 0)
        let stream = UnsafeMutableRawPointer(pipe).assumingMemoryBound(to: uv_stream_t.self)
        var q = sy_outq_t()
        sy_outq_init(&q, nil)
        let chunk = sy_chunk_get(loop.pool, 64)!
        memcpy(UnsafeMutableRawPointer(chunk).advanced(by: MemoryLayout<sy_chunk_t>.size), "REF", 3)
        let refPtr = UnsafeRawPointer(chunk).advanced(by: MemoryLayout<sy_chunk_t>.size)
        XCTAssertEqual(sy_outq_copy(&q, loop.pool, stream, "abc", 3), 0)
        XCTAssertEqual(sy_outq_copy(&q, loop.pool, stream, "def", 3), 0)
        XCTAssertEqual(q.nbufs, 1, "adjacent copies share one iovec")
        XCTAssertEqual(sy_outq_ref(&q, loop.pool, stream, chunk, refPtr, 3), 0)
        XCTAssertEqual(chunk.pointee.refs, 2)
        for i in 0..<100 { XCTAssertEqual(sy_outq_copy(&q, loop.pool, stream, "\(i % 10)", 1), 0) }
        XCTAssertEqual(sy_outq_flush(&q, stream), 0)
        sy_chunk_release(chunk)
        var out = [UInt8](repeating: 0, count: 256)
        let n = read(fds[1], &out, out.count)
        XCTAssertEqual(String(decoding: out[0..<n], as: UTF8.self),
                       "abcdefREF" + (0..<100).map { String($0 % 10) }.joined())
        XCTAssertEqual(loop.outstandingChunks, 0, "every chunk went back to the pool")
        uv_close(UnsafeMutableRawPointer(pipe).assumingMemoryBound(to: uv_handle_t.self), nil)
        uv_run(loop.uv, UV_RUN_NOWAIT)
        pipe.deallocate()
    }
}
