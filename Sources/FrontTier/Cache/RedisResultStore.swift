import EventLoop
import Redis

/// The result cache's shared tier on the front's Redis client: `GET` and `SET ... PX`, one key per
/// result (no hash tag: each key stands alone on a cluster). Errors are logged (at most once a
/// minute, with the reply's text, never a value) and count as misses; the call never sees them.
/// Thread: the loop thread.
final class RedisResultStore: RemoteResultStore {
    private let client: RedisClient
    private let loop: Loop
    private let log: Log
    private var lastComplaint: UInt64 = 0
    private var complained = false

    init(client: RedisClient, loop: Loop, log: Log) {
        self.client = client
        self.loop = loop
        self.log = log
    }

    var isUp: Bool { client.isUp }

    func get(_ key: [UInt8], _ done: @escaping ([UInt8]?) -> Void) {
        client.send([Array("GET".utf8), key], key: key) { [weak self] reply in
            switch reply {
            case .bulk(let value): done(value)
            case .null: done(nil)
            default:
                self?.complain(reply)
                done(nil)
            }
        }
    }

    func set(_ key: [UInt8], _ value: [UInt8], ttlMs: UInt64) {
        client.send([Array("SET".utf8), key, value, Array("PX".utf8), Array(String(ttlMs).utf8)], key: key) {
            [weak self] reply in
            if case .status = reply { return }
            self?.complain(reply)
        }
    }

    /// A failed command, logged at most once a minute (Redis away fails every command at once).
    private func complain(_ reply: RedisReply) {
        let now = loop.now
        guard !complained || now - lastComplaint >= 60_000 else { return }
        complained = true
        lastComplaint = now
        let text: String
        if case .error(let e) = reply { text = String(e.prefix(200)) } else { text = "an unexpected reply" }
        log.warning("result cache: Redis command failed; the call goes on without the shared tier", [("reply", text)])
    }
}
