/// One server-sent event (the `data` lines joined with newlines).
public struct SSEEvent: Sendable, Equatable {
    public var event: String
    public var data: [UInt8]
    public var id: String?

    public init(event: String = "message", data: [UInt8], id: String? = nil) {
        self.event = event; self.data = data; self.id = id
    }
}

/// Decodes a `text/event-stream` body (WHATWG HTML, "Server-sent events"), fed in any pieces:
/// lines end with CRLF, LF or CR; `data` lines accumulate; a blank line dispatches the event;
/// comments (`:`) and unknown fields are ignored. An event with no `data` line is not dispatched.
/// Thread: whoever owns it.
public struct SSEParser {
    /// The largest event accepted (its data, in bytes).
    public let maxEvent: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType = ""
    /// The last event id seen (it persists across events, as the spec says).
    public private(set) var lastEventID: String?
    private var afterCR = false

    public init(maxEvent: Int = 64 << 20) { self.maxEvent = maxEvent }

    /// Decodes `bytes`, calling `emit` for each complete event.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (SSEEvent) -> Void) throws(HTTPParseError) {
        for b in bytes {
            if afterCR {
                afterCR = false
                if b == 0x0A { continue } // the LF of a CRLF
            }
            if b == 0x0D || b == 0x0A {
                afterCR = b == 0x0D
                try endLine(emit)
                continue
            }
            line.append(b)
            if line.count > maxEvent { throw HTTPParseError("server-sent event over \(maxEvent) bytes") }
        }
    }

    private mutating func endLine(_ emit: (SSEEvent) -> Void) throws(HTTPParseError) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if hasData { emit(SSEEvent(event: eventType.isEmpty ? "message" : eventType, data: data, id: lastEventID)) }
            data.removeAll(keepingCapacity: false)
            hasData = false
            eventType = ""
            return
        }
        if line[0] == 0x3A { return } // ":" comment
        let colon = line.firstIndex(of: 0x3A) ?? line.count
        let field = line[..<colon]
        var value = colon < line.count ? line[(colon + 1)...] : []
        if value.first == 0x20 { value = value.dropFirst() }
        switch String(decoding: field, as: UTF8.self) {
        case "data":
            if hasData { data.append(0x0A) }
            data += value
            hasData = true
            if data.count > maxEvent { throw HTTPParseError("server-sent event over \(maxEvent) bytes") }
        case "event": eventType = String(decoding: value, as: UTF8.self)
        case "id": if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        default: break // retry and unknown fields
        }
    }
}
