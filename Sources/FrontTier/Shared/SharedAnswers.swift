import EventLoop
import MCPCore
import Redis

/// A client's answer (sampling, elicitation, roots; handshake era) that reaches another host
/// than the one whose tool waits, when Redis is configured. The request's sealed id names its
/// origin, `<host>.<front>` (ClientRequestIds); each front subscribes to `sy:answers:<origin>`,
/// and a front of another host publishes the answer there. The publisher learns how many fronts
/// took it (PUBLISH's count), so the answering client gets 202 only once the waiting front has
/// it; an answer of this host goes to the executor directly, as without Redis.
/// Thread: the loop thread.
final class SharedAnswers {
    /// What became of a forwarded answer.
    enum Outcome {
        /// The front whose tool waits took it.
        case delivered
        /// No front listens for that origin (it stopped; its calls have failed already).
        case nobody
        /// Redis could not carry it.
        case unavailable
    }

    /// This front: `<host>.<front>`.
    let origin: String
    private let host: String
    private let redis: RedisClient
    private let pool: ExecutorPool
    private let log: Log

    init(redis: RedisClient, pool: ExecutorPool, host: String, front: Int, log: Log) {
        self.redis = redis
        self.pool = pool
        self.host = host
        self.log = log
        origin = host + "." + String(front)
    }

    func start() {
        redis.subscribe(Self.channel(origin), onMessage: { [weak self] in self?.received($0) }, ready: nil)
    }

    func stop() { redis.unsubscribe(Self.channel(origin)) }

    /// Whether an id's origin is on this host (any front of a host reaches its executors).
    func isThisHost(_ origin: String) -> Bool {
        origin.split(separator: ".", maxSplits: 1).first.map(String.init) == host
    }

    /// Publishes an answer to the front `origin`; `done` is called once, on the loop thread.
    func forward(to origin: String, executor: String, requestId: String, member: String, json: String,
                 _ done: @escaping (Outcome) -> Void) {
        let message: JSONValue = .object(["executor": .string(executor), "requestId": .string(requestId),
                                          "member": .string(member), "json": .string(json)])
        redis.send([Array("PUBLISH".utf8), Self.channel(origin), Array(message.compactJSON().utf8)], key: nil) { reply in
            switch reply {
            case .integer(let n) where n > 0: done(.delivered)
            case .integer: done(.nobody)
            default: done(.unavailable)
            }
        }
    }

    /// An answer another host forwarded: to the executor, as ClientAnswers does locally.
    private func received(_ payload: [UInt8]) {
        guard case .object(let o)? = try? JSONValue.parse(payload),
              case .string(let executor)? = o["executor"], case .string(let requestId)? = o["requestId"],
              case .string(let member)? = o["member"], member == "result" || member == "error",
              case .string(let json)? = o["json"], Int(requestId) != nil,
              (try? JSONValue.parse(Array(json.utf8))) != nil else {
            log.warning("malformed forwarded client answer dropped")
            return
        }
        // An executor gone meanwhile has failed the call already; the answer has nowhere to go.
        pool.link(named: executor)?.respond(requestId: requestId, member: member, json: json)
    }

    static func channel(_ origin: String) -> [UInt8] { Array(("sy:answers:" + origin).utf8) }
}
