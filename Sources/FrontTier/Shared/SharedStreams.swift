import EventLoop
import Redis

/// The one place that switches a front's notification streams and client answers between the
/// local path and Redis: with a Redis client, `install` sets `FrontServices.fanOut` (notifications
/// and the shared event log of GET streams) and `FrontServices.sharedAnswers` (client answers
/// across hosts); without one both stay nil and everything runs as on a single host.
/// Thread: the loop thread.
enum SharedStreams {
    static func install(on s: FrontServices) {
        guard let redis = s.redis else { return }
        let host = HostIdentity.load(runDir: s.options.runDir)
        let store = SharedEventStore(redis: redis, maxEvents: s.options.eventStoreSize, maxAgeMs: s.options.eventStoreAgeMs)
        let fanOut = SharedFanOut(redis: redis, loop: s.loop, listeners: s.listeners, store: store,
                                  front: s.options.index, host: host, log: s.log)
        let answers = SharedAnswers(redis: redis, pool: s.pool, host: host, front: s.options.index, log: s.log)
        fanOut.start()
        answers.start()
        s.fanOut = fanOut
        s.sharedAnswers = answers
    }

    static func stop(on s: FrontServices) {
        s.fanOut?.stop()
        s.sharedAnswers?.stop()
    }

    /// An executor's link-wide notification: through the shared log with Redis, else straight
    /// to this front's streams.
    static func executorNotification(_ payload: [UInt8], _ s: FrontServices) {
        if let fanOut = s.fanOut { fanOut.fromExecutor(payload) } else { s.listeners.deliver(payload) }
    }
}
