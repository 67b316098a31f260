// The HTTP client's decoders fed by a remote upstream (HTTPResponseParser, SSEParser): any bytes
// as a server's answer. Decoding in one piece and in pieces of a size the input picks must agree
// (heads, body, end, error), and so must the SSE events of the body; nothing may trap.
import FuzzSupport
import HTTPClient

private struct Decoded: Equatable {
    var heads: [HTTPResponseHead] = []
    var body: [UInt8] = []
    var ends = 0
    var failed = false
}

private func decode(_ bytes: [UInt8], piece: Int, close: Bool) -> Decoded {
    var parser = HTTPResponseParser()
    var out = Decoded()
    var pending: [UInt8] = []
    var at = 0
    let sink: (HTTPResponseParser.Event) -> Void = { event in
        switch event {
        case .head(let h): out.heads.append(h)
        case .body(let b): out.body += b
        case .end: out.ends += 1
        }
    }
    do {
        while at < bytes.count && !parser.isDone {
            let next = min(bytes.count, at + piece)
            pending += bytes[at..<next]
            at = next
            let used = try pending.withUnsafeBytes { try parser.parse($0, sink) }
            pending.removeFirst(used)
        }
        if close && !parser.isDone { try parser.finish(sink) }
    } catch {
        out.failed = true
    }
    return out
}

private func events(_ bytes: [UInt8], piece: Int) -> ([SSEEvent], Bool) {
    var parser = SSEParser(maxEvent: 4096)
    var out: [SSEEvent] = []
    var at = 0
    do {
        while at < bytes.count {
            let next = min(bytes.count, at + piece)
            try Array(bytes[at..<next]).withUnsafeBytes { try parser.feed($0) { out.append($0) } }
            at = next
        }
    } catch {
        return (out, true)
    }
    return (out, false)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let piece = 1 + input.below(64)
    let close = input.bool()
    let rest = input.rest()
    let whole = decode(rest, piece: max(1, rest.count), close: close)
    let split = decode(rest, piece: piece, close: close)
    // An error found in pieces may come earlier than in one piece (a head over the limit is
    // seen before its end), so only error-free decodings are compared whole.
    if !whole.failed && !split.failed {
        require(whole == split, "decoding depends on the pieces (\(piece))")
    }
    if whole.ends > 0 { require(whole.heads.count == 1 && whole.ends == 1, "one response, one end") }
    let (e1, f1) = events(whole.body, piece: max(1, whole.body.count))
    let (e2, f2) = events(whole.body, piece: piece)
    require(f1 == f2, "SSE error depends on the pieces")
    if !f1 { require(e1 == e2, "SSE events depend on the pieces (\(piece))") }
    return 0
}
