/// Frame and byte tallies of this front's executor links, sampled into metrics once a second.
final class LinkStats {
    struct Totals {
        var framesIn: UInt64 = 0, framesOut: UInt64 = 0
        /// Payload bytes as on the wire (compressed when compressed) and uncompressed.
        var wireIn: UInt64 = 0, wireOut: UInt64 = 0
        var rawIn: UInt64 = 0, rawOut: UInt64 = 0
    }
    var totals = Totals()

    @inline(__always) func sent(wire: Int, raw: Int) {
        totals.framesOut &+= 1
        totals.wireOut &+= UInt64(wire)
        totals.rawOut &+= UInt64(raw)
    }

    @inline(__always) func received(wire: Int, raw: Int) {
        totals.framesIn &+= 1
        totals.wireIn &+= UInt64(wire)
        totals.rawIn &+= UInt64(raw)
    }
}
