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
        let t = text(headPointer.pointee.target)
        if let q = t.firstIndex(of: "?") { return String(t[..<q]) }
        return t
    }

    func header(_ name: String) -> String? {
        name.withCString { valueSpan($0) }.map(text)
    }

    /// The bytes of header `name` (lowercase), without making a String; nil when absent.
    func headerBytes(_ name: StaticString) -> UnsafeRawBufferPointer? {
        let span = UnsafeRawPointer(name.utf8Start).withMemoryRebound(to: CChar.self, capacity: name.utf8CodeUnitCount + 1) {
            valueSpan($0)
        }
        return span.map { UnsafeRawBufferPointer(rebasing: bytes[Int($0.off)..<Int($0.off + $0.len)]) }
    }

    /// Where the value of header `lowerName` lies in `bytes`; nil when absent.
    private func valueSpan(_ lowerName: UnsafePointer<CChar>) -> sy_span_t? {
        guard let base = bytes.baseAddress else { return nil }
        let i = sy_http_find_header(headPointer, base.assumingMemoryBound(to: UInt8.self), lowerName)
        guard i >= 0 else { return nil }
        return withUnsafeMutableBytes(of: &headPointer.pointee.headers) { raw in
            raw.bindMemory(to: sy_http_header_t.self)[Int(i)].value
        }
    }

    /// Whether header `name` (lowercase) contains `needle` (lowercase), ignoring ASCII case;
    /// nil when the header is absent. No allocation.
    func header(_ name: StaticString, contains needle: StaticString) -> Bool? {
        guard let base = bytes.baseAddress else { return nil }
        let rc = name.withUTF8Buffer { n in
            needle.withUTF8Buffer { d in
                sy_http_header_contains(headPointer, base.assumingMemoryBound(to: UInt8.self),
                                        UnsafeRawPointer(n.baseAddress!).assumingMemoryBound(to: CChar.self),
                                        UnsafeRawPointer(d.baseAddress!).assumingMemoryBound(to: CChar.self))
            }
        }
        return rc < 0 ? nil : rc == 1
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
