extension RedisClient {
    /// Runs a Lua script by EVALSHA; on NOSCRIPT (a restarted or new server) sends EVAL, which
    /// also loads it. Keys must share one hash slot (the first key routes it in a cluster).
    public func eval(_ script: RedisScript, keys: [[UInt8]], args: [[UInt8]], _ reply: @escaping (RedisReply) -> Void) {
        let tail = [Array(String(keys.count).utf8)] + keys + args
        let key = keys.first
        send([Array("EVALSHA".utf8), Array(script.sha1.utf8)] + tail, key: key) { [self] first in
            guard first.errorCode == "NOSCRIPT" else { return reply(first) }
            send([Array("EVAL".utf8), Array(script.source.utf8)] + tail, key: key, reply)
        }
    }
}
