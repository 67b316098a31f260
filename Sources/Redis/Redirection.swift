/// A cluster redirection error: `MOVED <slot> <host>:<port>` (the slot lives elsewhere now) or
/// `ASK <slot> <host>:<port>` (this one command goes there, after ASKING).
enum Redirection: Equatable {
    case moved(slot: Int, to: RedisEndpoint)
    case ask(slot: Int, to: RedisEndpoint)

    init?(_ message: String) {
        let words = message.split(separator: " ")
        guard words.count == 3, let slot = Int(words[1]), (0..<ClusterSlot.count).contains(slot),
              let colon = words[2].lastIndex(of: ":"), let port = Int(words[2][words[2].index(after: colon)...]),
              (1...65535).contains(port) else { return nil }
        var host = String(words[2][..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        let to = RedisEndpoint(host: host, port: port)
        switch words[0] {
        case "MOVED": self = .moved(slot: slot, to: to)
        case "ASK": self = .ask(slot: slot, to: to)
        default: return nil
        }
    }
}
