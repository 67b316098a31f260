/// Delays between reconnection attempts: exponential from `base`, capped at `cap`, with
/// "equal jitter" (half fixed, half random) so that many fronts that lost Redis together do
/// not come back in lockstep. Pure: `random` is the only input besides the attempt count.
struct Backoff {
    let base: UInt64
    let cap: UInt64
    private(set) var attempt = 0

    init(base: UInt64, cap: UInt64) {
        self.base = max(1, base)
        self.cap = max(self.base, cap)
    }

    /// The delay (ms) before the next attempt; each call doubles the ceiling up to `cap`.
    mutating func next(random: (ClosedRange<UInt64>) -> UInt64 = { UInt64.random(in: $0) }) -> UInt64 {
        let ceiling = attempt >= 32 ? cap : min(cap, base << UInt64(attempt))
        attempt += 1
        let half = ceiling / 2
        return half + random(0...(ceiling - half))
    }

    /// After a success: the next failure starts from `base` again.
    mutating func reset() { attempt = 0 }
}
