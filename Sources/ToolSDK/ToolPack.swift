import Metrics
import MCPCore
import WireProtocol

/// Everything an executor serves: tools, resources, resource templates, prompts and
/// completions. Packs merge (`ToolPack(merging:)`); later entries with the same name win.
public struct ToolPack: Sendable {
    public var tools: [Tool]
    public var resources: [Resource]
    public var resourceTemplates: [ResourceTemplate]
    public var prompts: [Prompt]
    /// Answers `completion/complete` for references whose prompt or template has no `complete`.
    public var completion: CompletionRequest.Handler?
    /// Whether the executor reports `notifications/resources/updated` (READY `subscriptions`).
    public var subscriptions: Bool

    public init(tools: [Tool] = [], resources: [Resource] = [], resourceTemplates: [ResourceTemplate] = [],
                prompts: [Prompt] = [], completion: CompletionRequest.Handler? = nil, subscriptions: Bool = false) {
        self.tools = tools; self.resources = resources; self.resourceTemplates = resourceTemplates
        self.prompts = prompts; self.completion = completion; self.subscriptions = subscriptions
    }

    /// A pack of tools only.
    public init(_ tools: [Tool]) { self.init(tools: tools) }

    public init(merging packs: [ToolPack]) {
        self.init(tools: packs.flatMap(\.tools), resources: packs.flatMap(\.resources),
                  resourceTemplates: packs.flatMap(\.resourceTemplates), prompts: packs.flatMap(\.prompts),
                  completion: packs.compactMap(\.completion).first, subscriptions: packs.contains { $0.subscriptions })
    }

    /// Whether CALL kind 4 is served.
    public var servesCompletions: Bool {
        completion != nil || prompts.contains { $0.complete != nil }
            || resourceTemplates.contains { $0.complete != nil }
    }

    /// The catalog sent in READY and CATALOG, entries in pack order.
    public var catalog: Catalog {
        func entry(_ key: String, _ v: JSONValue) -> Catalog.Entry {
            .init(key: key, json: Array(v.compactJSON().utf8))
        }
        return Catalog(tools: tools.map { entry($0.name, $0.catalogJSON) },
                       resources: resources.map { entry($0.uri, $0.catalogJSON) },
                       resourceTemplates: resourceTemplates.map { entry($0.uriTemplate, $0.catalogJSON) },
                       prompts: prompts.map { entry($0.name, $0.catalogJSON) },
                       completions: servesCompletions, subscriptions: subscriptions)
    }
}

/// A pack indexed for lookups by name and URI. Immutable: a catalog change builds a new one.
final class PackIndex: Sendable {
    /// A tool with what each of its calls needs, found by one lookup of its name.
    final class ToolEntry: Sendable {
        let tool: Tool
        /// The input schema, compiled once.
        let schema: SchemaCheck.Compiled
        /// The execution-time histogram, resolved on the first call (resolving may lock).
        private let timer = Locked<Histogram?>(nil)

        init(_ tool: Tool) {
            self.tool = tool
            schema = SchemaCheck.Compiled(tool.inputSchema)
        }

        var executionTimer: Histogram {
            timer.withLock { h in
                if let h { return h }
                let made = Metrics.histogram(.toolExecutionSeconds, tool.name)
                h = made
                return made
            }
        }
    }

    let pack: ToolPack
    let toolEntries: [String: ToolEntry]
    let prompts: [String: Prompt]
    let resources: [String: Resource]

    init(_ pack: ToolPack) {
        self.pack = pack
        var t: [String: ToolEntry] = [:], p: [String: Prompt] = [:], r: [String: Resource] = [:]
        for x in pack.tools { t[x.name] = ToolEntry(x) }
        for x in pack.prompts { p[x.name] = x }
        for x in pack.resources { r[x.uri] = x }
        toolEntries = t; prompts = p; resources = r
    }

    var tools: [String: Tool] { toolEntries.mapValues(\.tool) }

    func tool(_ name: String, era: CallContext.Era) -> ToolEntry? {
        toolEntries[name].flatMap { $0.tool.availableIn.includes(era) ? $0 : nil }
    }

    func prompt(_ name: String, era: CallContext.Era) -> Prompt? {
        prompts[name].flatMap { $0.availableIn.includes(era) ? $0 : nil }
    }

    /// The reader for `uri`: a static resource first, then the first template that matches.
    func resource(_ uri: String, era: CallContext.Era) -> (Resource.Reader, [String: String])? {
        if let r = resources[uri], r.availableIn.includes(era) { return (r.read, [:]) }
        for t in pack.resourceTemplates where t.availableIn.includes(era) {
            if let vars = t.match(uri) { return (t.read, vars) }
        }
        return nil
    }

    func template(_ uriTemplate: String, era: CallContext.Era) -> ResourceTemplate? {
        pack.resourceTemplates.first { $0.uriTemplate == uriTemplate && $0.availableIn.includes(era) }
    }
}
