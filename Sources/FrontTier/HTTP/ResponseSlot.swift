import CSupport

/// One request's place in a connection's answer order (HTTP/1.1 pipelining answers in order).
///
/// Ownership: a `.slice` part holds one reference on its chunk, released once the part is
/// queued for writing (the output queue takes its own) or when the slot is dropped.
final class ResponseSlot {
    enum Part {
        case text(String)
        case bytes([UInt8])
        case slice(UnsafeMutablePointer<sy_chunk_t>, UnsafeRawBufferPointer)
    }

    private(set) var parts: [Part] = []
    var ready = false
    /// Close the connection once this answer is written.
    var closeAfter = false

    func append(_ p: Part) {
        if case .slice(let c, _) = p { sy_chunk_retain(c) }
        parts.append(p)
    }

    func takeParts() -> [Part] {
        defer { parts.removeAll() }
        return parts
    }

    deinit {
        for case .slice(let c, _) in parts { sy_chunk_release(c) }
    }
}
