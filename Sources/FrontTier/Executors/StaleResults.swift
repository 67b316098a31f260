/// The last good result of each (tool, arguments) of tools marked `staleOnError`, served flagged as
/// stale when no executor can answer (stale-while-error). Bounded in entries and bytes; the
/// oldest entries go first.
struct StaleResults {
    let maxEntries: Int
    let maxBytes: Int
    private var entries: [String: [UInt8]] = [:]
    private var order: [String] = []
    private var head = 0
    private(set) var bytes = 0

    init(maxEntries: Int = 10_000, maxBytes: Int = 32 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    var count: Int { entries.count }

    mutating func store(_ key: String, _ result: [UInt8]) {
        guard result.count <= maxBytes / 4 else { return }
        if let old = entries[key] { bytes -= old.count } else { order.append(key) }
        entries[key] = result
        bytes += result.count
        while entries.count > maxEntries || bytes > maxBytes, head < order.count {
            let k = order[head]
            head += 1
            if let v = entries.removeValue(forKey: k) { bytes -= v.count }
        }
        if head > 4096 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    func lookup(_ key: String) -> [UInt8]? { entries[key] }

    /// The result with `_meta` marking it stale, spliced after the opening brace.
    static func flagged(_ result: [UInt8]) -> [UInt8] {
        guard result.first == UInt8(ascii: "{") else { return result }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out += Array("\"_meta\":{\"io.switchyard/stale\":true}".utf8)
        if result.count > 2 { out.append(UInt8(ascii: ",")) }
        out += result.dropFirst()
        return out
    }
}
