import EventLoop
import MCPCore

/// Open notification streams: 2026-07-28 `subscriptions/listen` streams with their filters.
/// Executors' link-wide notifications fan out to every stream whose filter wants them.
/// Thread: the loop thread.
final class Listeners {
    struct Filter {
        var tools = false, prompts = false, resources = false
        var resourceURIs: Set<String> = []

        /// The subset of a requested filter this server honors, as JSON.
        var json: String {
            var parts: [String] = []
            if tools { parts.append("\"toolsListChanged\":true") }
            if prompts { parts.append("\"promptsListChanged\":true") }
            if resources { parts.append("\"resourcesListChanged\":true") }
            if !resourceURIs.isEmpty {
                parts.append("\"resourceSubscriptions\":[" + resourceURIs.sorted().map { JSONValue.quote($0) }.joined(separator: ",") + "]")
            }
            return "{" + parts.joined(separator: ",") + "}"
        }

        func wants(_ method: String, uri: String?) -> Bool {
            switch method {
            case "notifications/tools/list_changed": return tools
            case "notifications/prompts/list_changed": return prompts
            case "notifications/resources/list_changed": return resources
            case "notifications/resources/updated": return uri.map { resourceURIs.contains($0) } ?? false
            default: return false
            }
        }
    }

    final class Stream {
        weak var connection: HTTPConnection?
        let slot: ResponseSlot
        /// The listen request's id as JSON (its type kept): the subscription id.
        let idJSON: String
        let filter: Filter
        init(connection: HTTPConnection, slot: ResponseSlot, idJSON: String, filter: Filter) {
            self.connection = connection; self.slot = slot; self.idJSON = idJSON; self.filter = filter
        }
    }

    private var streams: [ObjectIdentifier: Stream] = [:]
    private var keepAlive: Timer?

    var count: Int { streams.count }

    init(loop: Loop) {
        // SSE comments keep idle streams open through proxies (every 15 s).
        let t = Timer(loop: loop) { [unowned self] in self.ping() }
        t.start(after: 15_000, repeat: 15_000)
        t.unref()
        keepAlive = t
    }

    func add(_ s: Stream) { streams[ObjectIdentifier(s)] = s }

    /// A notification from an executor: `{"method":...,"params":{...}}`.
    func deliver(_ payload: [UInt8]) {
        guard !streams.isEmpty, case .object(var msg)? = try? JSONValue.parse(payload),
              case .string(let method)? = msg["method"] else { return }
        let uri = msg["params"]?["uri"]?.stringValue
        for (key, s) in streams {
            guard let c = s.connection, !c.isClosed else { streams[key] = nil; continue }
            guard s.filter.wants(method, uri: uri) else { continue }
            var params = msg["params"]?.objectValue ?? [:]
            var meta = params["_meta"]?.objectValue ?? [:]
            meta["io.modelcontextprotocol/subscriptionId"] = (try? JSONValue.parse(Array(s.idJSON.utf8))) ?? .string(s.idJSON)
            params["_meta"] = .object(meta)
            msg["params"] = .object(params)
            msg["jsonrpc"] = .string("2.0")
            s.slot.appendEventChunk(Array(JSONValue.object(msg).compactJSON().utf8))
            c.push(s.slot)
        }
    }

    private func ping() {
        for (key, s) in streams {
            guard let c = s.connection, !c.isClosed else { streams[key] = nil; continue }
            let comment = ": keepalive\n\n"
            s.slot.append(.text(String(comment.utf8.count, radix: 16) + "\r\n" + comment + "\r\n"))
            c.push(s.slot)
        }
    }
}
