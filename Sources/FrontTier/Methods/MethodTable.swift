import Glibc
import MCPCore
import Metrics

/// Answers one MCP method. A handler is reached only after the pipeline's checks: the era is
/// decided, the session (handshake era) or `_meta` (stateless era) is valid. It answers through
/// `FrontServices.writer`, now or later (calls to executors answer when the executor does).
/// Thread: the loop thread.
protocol MethodHandler: AnyObject {
    func handle(_ request: inout FrontRequest)
}

/// The eras that serve a method.
struct Eras: OptionSet {
    let rawValue: UInt8
    static let handshake = Eras(rawValue: 1)
    static let stateless = Eras(rawValue: 2)
    static let both: Eras = [.handshake, .stateless]
}

/// Every MCP request method the front serves, each with its handler: a new method is one
/// handler file and one line here. Looked up by the method's bytes in the request body, so
/// the hot path makes no String of it.
struct MethodTable {
    struct Entry {
        let method: String
        let handler: any MethodHandler
        let eras: Eras
        /// The method's index in the `method` label of the request metrics.
        let label: Int
    }

    /// Most used first: the lookup compares lengths, then bytes, in this order.
    private(set) var entries: [Entry] = []
    /// Every method's name, one after another (`ends[i]` is where entry i's ends), so a lookup
    /// walks one buffer without retaining anything.
    private var names: [UInt8] = []
    private var ends: [Int] = []

    static func standard(_ s: FrontServices) -> MethodTable {
        var t = MethodTable()
        t.add("tools/call", ToolsCall(s), .both)
        t.add("tools/list", CatalogList(s, member: "tools", \.tools, kind: .tool), .both)
        t.add("initialize", Initialize(s), .handshake)
        t.add("server/discover", ServerDiscover(s), .stateless)
        t.add("resources/read", ResourcesRead(s), .both)
        t.add("prompts/get", PromptsGet(s), .both)
        t.add("resources/list", CatalogList(s, member: "resources", \.resources, kind: .resource), .both)
        t.add("resources/templates/list", CatalogList(s, member: "resourceTemplates", \.resourceTemplates, kind: .resource), .both)
        t.add("prompts/list", CatalogList(s, member: "prompts", \.prompts, kind: .prompt), .both)
        t.add("completion/complete", CompletionComplete(s), .both)
        t.add("ping", Ping(s), .handshake)
        t.add("logging/setLevel", LoggingSetLevel(s), .handshake)
        t.add("resources/subscribe", ResourcesSubscribe(s, subscribe: true), .handshake)
        t.add("resources/unsubscribe", ResourcesSubscribe(s, subscribe: false), .handshake)
        t.add("subscriptions/listen", SubscriptionsListen(s), .stateless)
        return t
    }

    mutating func add(_ method: String, _ handler: any MethodHandler, _ eras: Eras) {
        precondition(!entries.contains { $0.method == method }, "\(method) is registered twice")
        entries.append(Entry(method: method, handler: handler, eras: eras, label: LabelIndex.method(method)))
        names += method.utf8
        ends.append(names.count)
    }

    /// The index of the entry for a method given as its unescaped UTF-8 bytes.
    func index(of name: UnsafeRawBufferPointer) -> Int? {
        guard let base = name.baseAddress else { return nil }
        return names.withUnsafeBytes { all in
            var start = 0
            for (i, end) in ends.enumerated() {
                defer { start = end }
                if end - start == name.count && memcmp(all.baseAddress! + start, base, name.count) == 0 { return i }
            }
            return nil
        }
    }

    func index(of method: String) -> Int? {
        var m = method
        return m.withUTF8 { index(of: UnsafeRawBufferPointer($0)) }
    }
}
