import EventLoop

/// One check that the Redis of `settings` can be reached and answers, made before `serve`
/// starts its fronts and executors: a client of its own on a loop of its own (which, like every
/// Loop, lives as long as the process), up once a connection's handshake
/// is answered (AUTH, SELECT, PING; Sentinel: the master named by a sentinel and confirmed by
/// ROLE; Cluster: the slot map and a node). A wrong address, port, password or master name
/// then stops the start with one line, instead of a host that serves degraded from its first
/// second. Once running, Redis going away is degraded, not down.
public enum RedisProbe {
    /// nil when Redis was up within `timeoutMs` (the client retries with its backoff meanwhile,
    /// so a Redis still starting counts); else the last reason the client gave, without the
    /// password (the client's messages never carry it). A name lookup still running at the
    /// deadline is waited for (one on libuv's thread pool cannot be stopped).
    public static func unreachable(_ settings: RedisSettings, timeoutMs: UInt64) -> String? {
        let loop = Loop()
        var up = false
        // Its log lines would repeat, as from a host already serving, what the caller reports.
        let client = RedisClient(loop: loop, settings: settings) { _ in }
        client.onStateChange = { isUp in
            if isUp { up = true; loop.stop() }
        }
        client.start()
        let deadline = Timer.once(loop: loop, after: timeoutMs) { loop.stop() }
        if !client.isUp { loop.run() }
        deadline.close()
        client.onStateChange = nil
        let reason = client.lastFailure.isEmpty ? "no answer within \(timeoutMs) ms" : client.lastFailure
        client.close()
        // Let the closes run (hiredis contexts, timers, the lookup) before the loop goes.
        let drain = Timer.once(loop: loop, after: 10) { loop.stop() }
        loop.run()
        drain.close()
        loop.run()
        return up ? nil : reason
    }
}
