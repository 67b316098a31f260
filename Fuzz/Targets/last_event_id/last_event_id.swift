// The Last-Event-ID parsers of GET stream resumption (Listeners.parseEventId, and with Redis
// SharedEventId): any bytes as a header value. Each takes exactly the ids its side spells, so
// parsing and spelling again gives the input back; ids they spell always parse.
@testable import FrontTier
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLastEventId(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let front = input.below(4)
    let text = String(decoding: input.rest(), as: UTF8.self)
    if let (key, seq) = Listeners.parseEventId(text, front: front) {
        require(Listeners.eventId(front: front, key: key, seq: seq) == text,
                "took a non-canonical id \(text.debugDescription)")
        for other in 0..<4 where other != front {
            require(Listeners.parseEventId(text, front: other) == nil,
                    "\(text) parsed for fronts \(front) and \(other)")
        }
    }
    if let shared = SharedEventId(text) {
        require(shared.description == text, "took a non-canonical shared id \(text.debugDescription)")
    }
    // Round trip of numbers read from the input, extremes included.
    var numbers = FuzzInput(Array(text.utf8))
    let key = numbers.uint64(), seq = numbers.uint64()
    let id = Listeners.eventId(front: front, key: key, seq: seq)
    let back = Listeners.parseEventId(id, front: front)
    require(back?.key == key && back?.seq == seq, "\(id) did not parse back")
    let shared = SharedEventId(ms: key, seq: seq)
    require(SharedEventId(shared.description) == shared, "\(shared) did not parse back")
    return 0
}
