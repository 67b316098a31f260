/// When to restart a child that exited, as a pure function of its history (after Erlang/OTP:
/// a restart intensity within a period, then give up), with exponential backoff and jitter.
/// Tested with a fake clock; times are milliseconds.
public struct RestartPolicy: Sendable {
    public enum Restart: Sendable { case permanent, transient }
    public enum Decision: Equatable, Sendable {
        case restart(afterMs: UInt64)
        case stop
        case giveUp(restarts: Int, periodMs: UInt64)
    }

    public var restart: Restart
    /// At most this many restarts within `periodMs`...
    public var intensity: Int
    public var periodMs: UInt64
    /// ...each after a delay that doubles from `baseDelayMs` up to `maxDelayMs` (the first is immediate).
    public var baseDelayMs: UInt64
    public var maxDelayMs: UInt64
    /// Fraction of the delay added or removed at random, so restarts of many children spread out.
    public var jitter: Double
    /// A child that stayed up this long is considered healthy again: backoff starts over.
    public var stableAfterMs: UInt64

    private var recent: [UInt64] = []
    private var consecutive = 0

    public init(restart: Restart = .permanent, intensity: Int = 10, periodMs: UInt64 = 10_000,
                baseDelayMs: UInt64 = 100, maxDelayMs: UInt64 = 5_000, jitter: Double = 0.2,
                stableAfterMs: UInt64 = 10_000) {
        self.restart = restart; self.intensity = intensity; self.periodMs = periodMs
        self.baseDelayMs = baseDelayMs; self.maxDelayMs = maxDelayMs; self.jitter = jitter
        self.stableAfterMs = stableAfterMs
    }

    /// Decides what follows an exit. `clean` is exit status 0 (a transient child then stays down);
    /// `upForMs` is how long it ran; `random` is in [0, 1) (injected so tests are exact).
    public mutating func onExit(clean: Bool, upForMs: UInt64, now: UInt64, random: Double) -> Decision {
        if clean && restart == .transient { return .stop }
        if upForMs >= stableAfterMs { consecutive = 0 }
        recent = recent.filter { now &- $0 < periodMs }
        if recent.count >= intensity { return .giveUp(restarts: recent.count, periodMs: periodMs) }
        recent.append(now)
        defer { consecutive += 1 }
        if consecutive == 0 { return .restart(afterMs: 0) }
        let exp = min(consecutive - 1, 20)
        let raw = min(maxDelayMs, baseDelayMs << UInt64(exp))
        let spread = Double(raw) * jitter * (random * 2 - 1)
        return .restart(afterMs: UInt64(max(0, Double(raw) + spread)))
    }
}
