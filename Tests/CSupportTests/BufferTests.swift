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

    /// A burst of 16 KiB chunks in use (calls in flight) comes back into the free list, not to
    /// malloc, up to the class's bound; two decays after the burst the list is back at its
    /// fixed minimum (64 for this class).
    func testPoolKeepsWhatItsPeakUsedThenDecays() {
        let pool = sy_pool_new()!
        defer { sy_pool_free(pool) }
        let chunk = 16 << 10
        var held = (0..<500).map { _ in sy_chunk_get(pool, chunk)! }
        for c in held { sy_chunk_release(c) }
        XCTAssertEqual(sy_pool_cached_bytes(pool), 500 * chunk, "the burst's chunks are all kept")
        // Reused, not allocated: the same 500 chunks come back.
        let again = (0..<500).map { _ in sy_chunk_get(pool, chunk)! }
        XCTAssertEqual(Set(again.map { UnsafeRawPointer($0) }), Set(held.map { UnsafeRawPointer($0) }))
        XCTAssertEqual(sy_pool_cached_bytes(pool), 0)
        for c in again { sy_chunk_release(c) }
        held = []
        XCTAssertEqual(sy_pool_decay(pool), 0, "the period that ends had a peak of 500")
        XCTAssertEqual(sy_pool_cached_bytes(pool), 500 * chunk)
        XCTAssertEqual(sy_pool_decay(pool), 436 * chunk, "an idle period keeps the minimum")
        XCTAssertEqual(sy_pool_cached_bytes(pool), 64 * chunk)

        // Bounded: 2,000 in use at once keep at most 1,024 (16 MiB) of them.
        let many = (0..<2000).map { _ in sy_chunk_get(pool, chunk)! }
        for c in many { sy_chunk_release(c) }
        XCTAssertEqual(sy_pool_cached_bytes(pool), 1024 * chunk)
        XCTAssertEqual(sy_pool_outstanding(pool), 0)
        // Detached chunks leave their class's count (else 100 would stay "in use" and kept).
        let detached = (0..<100).map { _ in sy_chunk_get(pool, chunk)! }
        for d in detached {
            XCTAssertEqual(sy_chunk_detach(d), 0)
            sy_chunk_release(d)
        }
        XCTAssertEqual(sy_pool_decay(pool), 0)
        XCTAssertEqual(sy_pool_decay(pool), (924 - 64) * chunk)
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

/// Bytes handed out of a read buffer, detached from the pool (executor CALL frames kept where
/// they were read), and chunks that belong to no pool.
final class DetachedChunkTests: XCTestCase {
    func testTakeHandsOverTheChunkAndKeepsTheBytesAfterIt() {
        let pool = sy_pool_new()!
        defer { sy_pool_free(pool) }
        var inbuf = sy_inbuf_t()
        var buf = uv_buf_t()
        XCTAssertEqual(sy_inbuf_alloc(&inbuf, pool, 64, &buf), 0)
        memcpy(buf.base, "skipFRAMEnext", 13)
        sy_inbuf_commit(&inbuf, 13)
        sy_inbuf_consume(&inbuf, 4)
        var taken: UnsafeMutablePointer<sy_chunk_t>?
        var offset: UInt32 = 0
        XCTAssertEqual(sy_inbuf_take(&inbuf, pool, 5, &taken, &offset), 0)
        let chunk = taken!
        XCTAssertNil(chunk.pointee.pool, "detached")
        XCTAssertEqual(sy_pool_outstanding(pool), 1, "only the chunk now holding `next` is the pool's")
        let data = UnsafeRawPointer(chunk) + MemoryLayout<sy_chunk_t>.size + Int(offset)
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: data, count: 5), as: UTF8.self), "FRAME")
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: sy_inbuf_data(&inbuf), count: sy_inbuf_length(&inbuf)),
                              as: UTF8.self), "next")
        // A new read reuses the pool; the taken bytes do not move or change.
        var other = sy_inbuf_t()
        XCTAssertEqual(sy_inbuf_alloc(&other, pool, 64, &buf), 0)
        memset(buf.base, 0x41, Int(buf.len))
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: data, count: 5), as: UTF8.self), "FRAME")
        sy_inbuf_reset(&other)
        sy_chunk_release(chunk) // freed, not returned to the pool
        sy_inbuf_reset(&inbuf)
        XCTAssertEqual(sy_pool_outstanding(pool), 0)
    }

    func testTakeRefusesASharedChunkAndTooManyBytes() {
        let pool = sy_pool_new()!
        defer { sy_pool_free(pool) }
        var inbuf = sy_inbuf_t()
        var buf = uv_buf_t()
        XCTAssertEqual(sy_inbuf_alloc(&inbuf, pool, 64, &buf), 0)
        memcpy(buf.base, "abc", 3)
        sy_inbuf_commit(&inbuf, 3)
        var taken: UnsafeMutablePointer<sy_chunk_t>?
        var offset: UInt32 = 0
        XCTAssertEqual(sy_inbuf_take(&inbuf, pool, 4, &taken, &offset), -EINVAL)
        sy_chunk_retain(inbuf.chunk!)
        XCTAssertEqual(sy_inbuf_take(&inbuf, pool, 3, &taken, &offset), -EBUSY, "a slice is referenced elsewhere")
        XCTAssertNil(taken)
        sy_chunk_release(inbuf.chunk!)
        XCTAssertEqual(sy_inbuf_take(&inbuf, pool, 3, &taken, &offset), 0)
        XCTAssertNil(inbuf.chunk, "nothing left: no chunk")
        sy_chunk_release(taken!)
        XCTAssertEqual(sy_pool_outstanding(pool), 0)
    }

    func testDetachedChunksGrowAndAreFreedByTheirLastRelease() {
        var c: UnsafeMutablePointer<sy_chunk_t>? = sy_chunk_new_detached(16)
        XCTAssertNotNil(c)
        memcpy(UnsafeMutableRawPointer(c!) + MemoryLayout<sy_chunk_t>.size, "0123456789abcdef", 16)
        XCTAssertEqual(sy_chunk_grow_detached(&c, 1 << 20), 0)
        XCTAssertGreaterThanOrEqual(c!.pointee.cap, 1 << 20)
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: UnsafeRawPointer(c!) + MemoryLayout<sy_chunk_t>.size,
                                                               count: 16), as: UTF8.self), "0123456789abcdef")
        sy_chunk_retain(c!)
        XCTAssertEqual(sy_chunk_grow_detached(&c, 2 << 20), -EINVAL, "shared: it must not move")
        sy_chunk_release(c!)
        sy_chunk_release(c!)
        let pool = sy_pool_new()!
        defer { sy_pool_free(pool) }
        var pooled: UnsafeMutablePointer<sy_chunk_t>? = sy_chunk_get(pool, 100)
        XCTAssertEqual(sy_chunk_grow_detached(&pooled, 8192), -EINVAL, "a pooled chunk is not grown")
        XCTAssertEqual(sy_chunk_detach(pooled!), 0)
        XCTAssertEqual(sy_pool_outstanding(pool), 0)
        sy_chunk_release(pooled!)
        XCTAssertEqual(sy_pool_cached_bytes(pool), 0, "a detached chunk never returns to the pool")
    }

    func testObjectMembersValidateAndRecordTopLevelMembers() {
        let text = Array(#"{"a":"x\"y","b":{"c":1},"a":[true]} "#.utf8)
        var members = [sy_json_member_t](repeating: sy_json_member_t(), count: 2)
        var top: Int32 = 0
        let n = members.withUnsafeMutableBufferPointer { sy_json_object_members(text, text.count, $0.baseAddress, 2, &top) }
        XCTAssertEqual(n, 3, "every member is counted, two recorded")
        XCTAssertEqual(top, Int32(SY_JSON_OBJECT))
        XCTAssertEqual(members[0].value.kind, Int32(SY_JSON_STRING))
        XCTAssertEqual(members[0].value.escaped, 1)
        XCTAssertEqual(Array(text[Int(members[0].value.span.off)..<Int(members[0].value.span.off + members[0].value.span.len)]),
                       Array(#"x\"y"#.utf8))
        XCTAssertEqual(members[1].value.kind, Int32(SY_JSON_OBJECT))
        let bad = Array(#"{"a":1"#.utf8)
        XCTAssertLessThan(sy_json_object_members(bad, bad.count, nil, 0, &top), 0)
        let scalar = Array("17".utf8)
        XCTAssertEqual(sy_json_object_members(scalar, scalar.count, nil, 0, &top), 0)
        XCTAssertEqual(top, Int32(SY_JSON_NUMBER))
    }
}
