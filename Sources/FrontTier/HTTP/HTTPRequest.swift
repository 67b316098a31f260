import CSupport

/// A request whose head and body are complete, as spans into the connection's read buffer.
/// Valid only during dispatch; whatever outlives it is copied or retained by the handler.
struct HTTPRequest {
    /// The parsed head. Ownership: the connection; valid during dispatch only.
    let headPointer: UnsafeMutablePointer<sy_http_request_t>
    /// The whole buffered request: head, then body.
    var bytes: UnsafeRawBufferPointer
    /// The chunk holding `bytes`, for zero-copy slices that outlive dispatch.
    var chunk: UnsafeMutablePointer<sy_chunk_t>
    var body: UnsafeRawBufferPointer
    /// Keeps a detached copy's storage alive (nil for a request in the connection's buffer).
    private var storage: DetachedStorage?

    init(headPointer: UnsafeMutablePointer<sy_http_request_t>, bytes: UnsafeRawBufferPointer,
         chunk: UnsafeMutablePointer<sy_chunk_t>, body: UnsafeRawBufferPointer) {
        self.headPointer = headPointer
        self.bytes = bytes
        self.chunk = chunk
        self.body = body
    }

    /// A copy whose head and bytes live in storage of its own, valid after dispatch (for a
    /// pipeline stage that suspends). Ownership: the copy (and its copies) keep the storage;
    /// it is freed with the last of them.
    func detached(pool: OpaquePointer) -> HTTPRequest {
        let storage = DetachedStorage(head: headPointer.pointee, bytes: bytes, pool: pool)
        let base = UnsafeRawPointer(storage.chunk).advanced(by: MemoryLayout<sy_chunk_t>.size)
        let copy = UnsafeRawBufferPointer(start: base, count: bytes.count)
        let bodyStart = body.baseAddress.map { $0 - bytes.baseAddress! } ?? 0
        var r = HTTPRequest(headPointer: storage.head, bytes: copy, chunk: storage.chunk,
                            body: UnsafeRawBufferPointer(rebasing: copy[bodyStart..<bodyStart + body.count]))
        r.storage = storage
        return r
    }

    func methodIs(_ m: StaticString) -> Bool { spanEquals(headPointer.pointee.method, m) }

    /// The path without the query string.
    var path: String {
        let t = headPointer.pointee.target
        let target = UnsafeRawBufferPointer(rebasing: bytes[Int(t.off)..<Int(t.off + t.len)])
        let end = target.firstIndex(of: UInt8(ascii: "?")) ?? target.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: target[..<end]), as: UTF8.self)
    }

    /// What the Accept header names (CSupport's SY_ACCEPT_* bits), worked out once per request.
    var acceptFlags: Int32 { sy_http_accept(headPointer, base) }

    /// Is the Content-Type's media type `application/json` (case aside, parameters such as
    /// `charset` allowed)? Parsed, not searched: `application/json-seq` is not JSON.
    var contentTypeIsJSON: Bool {
        sy_http_media_type_is(headPointer, base, sy_http_known_header(headPointer, HeaderName.contentType.id),
                              "application/json") == 1
    }

    /// A known header's value, nil when absent: an index lookup (the parse indexed it).
    func header(_ name: HeaderName) -> String? { valueSpan(name).map(text) }

    /// The bytes of a known header, without making a String; nil when absent.
    func headerBytes(_ name: HeaderName) -> UnsafeRawBufferPointer? {
        valueSpan(name).map {
            UnsafeRawBufferPointer(rebasing: bytes[Int($0.off)..<Int($0.off + $0.len)])
        }
    }

    private var base: UnsafePointer<UInt8> { bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) }

    /// Where a known header's value lies in `bytes`; nil when absent.
    private func valueSpan(_ name: HeaderName) -> sy_span_t? {
        let index = sy_http_known_header(headPointer, name.id)
        guard index >= 0, UInt32(index) < headPointer.pointee.nheaders else { return nil }
        return withUnsafeMutableBytes(of: &headPointer.pointee.headers) { raw in
            raw.bindMemory(to: sy_http_header_t.self)[Int(index)].value
        }
    }

    func text(_ s: sy_span_t) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[Int(s.off)..<Int(s.off + s.len)]), as: UTF8.self)
    }

    private func spanEquals(_ s: sy_span_t, _ lit: StaticString) -> Bool {
        guard Int(s.len) == lit.utf8CodeUnitCount else { return false }
        return memcmpEqual(bytes.baseAddress! + Int(s.off), lit.utf8Start, Int(s.len))
    }
}

/// The head and bytes of a detached request. Ownership: allocated here, freed in deinit.
private final class DetachedStorage {
    let head: UnsafeMutablePointer<sy_http_request_t>
    let chunk: UnsafeMutablePointer<sy_chunk_t>

    init(head value: sy_http_request_t, bytes: UnsafeRawBufferPointer, pool: OpaquePointer) {
        head = .allocate(capacity: 1)
        head.initialize(to: value)
        guard let c = sy_chunk_get(pool, max(bytes.count, 1)) else { fatalError("out of memory") }
        chunk = c
        if let src = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(c).advanced(by: MemoryLayout<sy_chunk_t>.size)
                .copyMemory(from: src, byteCount: bytes.count)
        }
    }

    deinit {
        head.deallocate()
        sy_chunk_release(chunk)
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    for i in 0..<n where a.load(fromByteOffset: i, as: UInt8.self) != b[i] { return false }
    return true
}

/// A header the server reads by name (CSupport's SY_H_*): found by index, not by a search.
struct HeaderName {
    let id: Int32
    static let accept = HeaderName(id: Int32(SY_H_ACCEPT))
    static let contentType = HeaderName(id: Int32(SY_H_CONTENT_TYPE))
    static let host = HeaderName(id: Int32(SY_H_HOST))
    static let origin = HeaderName(id: Int32(SY_H_ORIGIN))
    static let mcpSessionId = HeaderName(id: Int32(SY_H_MCP_SESSION_ID))
    static let mcpProtocolVersion = HeaderName(id: Int32(SY_H_MCP_PROTOCOL_VERSION))
    static let mcpMethod = HeaderName(id: Int32(SY_H_MCP_METHOD))
    static let mcpName = HeaderName(id: Int32(SY_H_MCP_NAME))
    static let lastEventId = HeaderName(id: Int32(SY_H_LAST_EVENT_ID))
    static let traceparent = HeaderName(id: Int32(SY_H_TRACEPARENT))
    /// At most one per request: the parser refuses a second (400).
    static let authorization = HeaderName(id: Int32(SY_H_AUTHORIZATION))
    static let xForwardedFor = HeaderName(id: Int32(SY_H_X_FORWARDED_FOR))
}
