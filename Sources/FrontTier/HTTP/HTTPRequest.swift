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

    /// A known header's value, nil when absent: an index lookup (the parse indexed it).
    func header(_ name: HeaderName) -> String? { valueSpan(name).map(text) }

    /// The bytes of a known header, without making a String; nil when absent.
    func headerBytes(_ name: HeaderName) -> UnsafeRawBufferPointer? {
        valueSpan(name).map {
            UnsafeRawBufferPointer(rebasing: bytes[Int($0.off)..<Int($0.off + $0.len)])
        }
    }

    /// Whether a known header contains `needle` (lowercase), ignoring ASCII case; nil when the
    /// header is absent. No allocation.
    func header(_ name: HeaderName, contains needle: StaticString) -> Bool? {
        let rc = needle.withUTF8Buffer { d in
            sy_http_header_at_contains(headPointer, base, sy_http_known_header(headPointer, name.id),
                                       UnsafeRawPointer(d.baseAddress!).assumingMemoryBound(to: CChar.self))
        }
        return rc < 0 ? nil : rc == 1
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
}
