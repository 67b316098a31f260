/// Which master serves each of the 16384 slots, from a `CLUSTER SLOTS` reply.
struct ClusterSlotMap: Equatable {
    /// Index into `masters` per slot; -1 when no node serves it.
    private(set) var owner: [Int16]
    private(set) var masters: [RedisEndpoint]

    init() {
        owner = Array(repeating: -1, count: ClusterSlot.count)
        masters = []
    }

    /// Parses `CLUSTER SLOTS`: `[[start, end, [host, port, id...], replicas...]...]`. An empty
    /// host means the node that answered (`answeredBy`). Nil when the reply is not that shape.
    init?(slotsReply reply: RedisReply, answeredBy: RedisEndpoint) {
        self.init()
        guard case .array(let ranges) = reply else { return nil }
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3,
                  case .integer(let start) = fields[0], case .integer(let end) = fields[1],
                  start >= 0, end >= start, end < ClusterSlot.count,
                  case .array(let node) = fields[2], node.count >= 2,
                  let host = node[0].string, case .integer(let port) = node[1], (1...65535).contains(port) else { return nil }
            let endpoint = RedisEndpoint(host: host.isEmpty || host == "?" ? answeredBy.host : host, port: Int(port))
            let index = self.index(of: endpoint)
            for slot in Int(start)...Int(end) { owner[slot] = index }
        }
        guard !masters.isEmpty else { return nil }
    }

    func master(of slot: Int) -> RedisEndpoint? {
        let i = owner[slot]
        return i < 0 ? nil : masters[Int(i)]
    }

    /// After MOVED: `slot` is served by `endpoint` (until the next full refresh says more).
    mutating func assign(_ slot: Int, to endpoint: RedisEndpoint) {
        owner[slot] = index(of: endpoint)
    }

    private mutating func index(of endpoint: RedisEndpoint) -> Int16 {
        if let i = masters.firstIndex(of: endpoint) { return Int16(i) }
        masters.append(endpoint)
        return Int16(masters.count - 1)
    }
}
