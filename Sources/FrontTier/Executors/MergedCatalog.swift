import MCPCore
import SchemaValidation
import WireProtocol

/// The union of every linked executor's catalog, per protocol era: the list results the front
/// serves, and which links host each tool, prompt, resource and resource template.
/// Entries whose `_meta["io.switchyard/era"]` names the other era are left out of that era.
final class MergedCatalog {
    enum Era: Int { case legacy = 0, modern = 1 }

    /// List entries (JSON objects), per era: tools, resources, templates, prompts.
    struct Lists {
        var tools = Entries()
        var resources = Entries()
        var resourceTemplates = Entries()
        var prompts = Entries()
    }

    /// One list's entries as listed, and the name each is found by (a tool's or prompt's
    /// name, a resource's URI, a template's URI template), for filtering by policy.
    struct Entries {
        var json: [[UInt8]] = []
        var names: [String] = []
    }

    private(set) var lists = [Lists(), Lists()]
    private(set) var tools: [String: [FrontLink]] = [:]
    private(set) var prompts: [String: [FrontLink]] = [:]
    private(set) var resources: [String: [FrontLink]] = [:]
    private(set) var templates: [(template: String, links: [FrontLink])] = []
    private(set) var completionLinks: [FrontLink] = []
    private(set) var traits: [String: ToolTraits] = [:]
    /// Some tool declares its own call timeout (`ToolTraits.timeoutMs`): without one, a call's
    /// deadline needs no lookup by its name.
    private(set) var anyToolTimeout = false
    /// Some tool is `staleOnError`: without one, no result is kept for stale answers.
    private(set) var anyStaleOnError = false
    /// Any executor offers resource subscriptions.
    private(set) var subscriptions = false
    /// Each tool's compiled `inputSchema`, for ArgumentValidationStage: the schema of the
    /// entry that is listed (the first executor's, by name). Compiled here, when the catalog is
    /// (re)built, once per distinct schema.
    private(set) var validators: [String: CompiledSchema] = [:]
    /// `validators`, found by a name's bytes (what the stage reads per call; set once, in init,
    /// so no dynamic exclusivity check).
    @exclusivity(unchecked) private(set) var toolSchemas = ToolSchemas()
    /// Each tool's compiled `outputSchema`, when it declares one: its `structuredContent` must
    /// conform (ExecutorAnswers checks every result of such a tool).
    private(set) var outputValidators: [String: CompiledSchema] = [:]
    /// `outputValidators`, found by a name's bytes (checked on every result).
    @exclusivity(unchecked) private(set) var outputSchemas = ToolSchemas()
    /// Tools whose inputSchema could not be compiled (their calls go unvalidated; logged).
    private(set) var schemaErrors: [String: SchemaError] = [:]
    /// Compiled schemas by their bytes, handed to the next rebuild.
    private(set) var schemas = SchemaCache()

    init() {}

    /// `previous`: the schemas of the catalog this one replaces, reused rather than compiled again.
    /// `owners`: who serves each name, across rebuilds; an upstream's entry for a name another
    /// source owns is left out (its conflict is in `owners.conflicts`).
    init(links: [FrontLink], previous: SchemaCache = SchemaCache(), owners: CatalogOwners = CatalogOwners()) {
        var seenTools = Set<String>(), seenPrompts = Set<String>()
        var seenResources = Set<String>(), seenTemplates = Set<String>()
        var templateIndex: [String: Int] = [:]
        var listed: [String: Set<String>] = [:]
        var rank: [String: Int] = [:]
        for link in links {
            guard let catalog = link.ready?.catalog else { continue }
            let source = CatalogOwners.source(of: link.name)
            rank[source] = CatalogOwners.rank(of: link.name)
            listed[source, default: []].formUnion(catalog.tools.map { "tool:" + $0.key }
                + catalog.prompts.map { "prompt:" + $0.key } + catalog.resources.map { "resource:" + $0.key }
                + catalog.resourceTemplates.map { "resource template:" + $0.key })
        }
        owners.begin(listed: listed, rank: rank)
        for link in links {
            guard let catalog = link.ready?.catalog else { continue }
            let source = CatalogOwners.source(of: link.name)
            for t in catalog.tools where owners.admit("tool", t.key, source: source) {
                tools[t.key, default: []].append(link)
                if seenTools.insert(t.key).inserted {
                    let tr = ToolTraits(catalogJSON: t.json)
                    traits[t.key] = tr
                    if tr.timeoutMs != nil { anyToolTimeout = true }
                    if tr.staleOnError { anyStaleOnError = true }
                    add(t.key, t.json, \.tools)
                    compileSchemas(t.key, t.json, previous)
                }
            }
            for p in catalog.prompts where owners.admit("prompt", p.key, source: source) {
                prompts[p.key, default: []].append(link)
                if seenPrompts.insert(p.key).inserted { add(p.key, p.json, \.prompts) }
            }
            for r in catalog.resources where owners.admit("resource", r.key, source: source) {
                resources[r.key, default: []].append(link)
                if seenResources.insert(r.key).inserted { add(r.key, r.json, \.resources) }
            }
            for t in catalog.resourceTemplates where owners.admit("resource template", t.key, source: source) {
                if let i = templateIndex[t.key] { templates[i].links.append(link) } else {
                    templateIndex[t.key] = templates.count
                    templates.append((t.key, [link]))
                }
                if seenTemplates.insert(t.key).inserted { add(t.key, t.json, \.resourceTemplates) }
            }
            if catalog.completions { completionLinks.append(link) }
            if catalog.subscriptions { subscriptions = true }
        }
        toolSchemas = ToolSchemas(validators)
        outputSchemas = ToolSchemas(outputValidators)
    }

    private func compileSchemas(_ tool: String, _ json: [UInt8], _ previous: SchemaCache) {
        let entry = try? JSONValue.parse(json)
        if let schema = entry?["inputSchema"] {
            switch schemas.schema(schema, reusing: previous) {
            case .success(let compiled): validators[tool] = compiled
            case .failure(let e): schemaErrors[tool] = e
            }
        }
        if let schema = entry?["outputSchema"] {
            switch schemas.schema(schema, reusing: previous) {
            case .success(let compiled): outputValidators[tool] = compiled
            case .failure(let e): schemaErrors[tool] = e
            }
        }
    }

    /// Appends an entry to the lists of the eras it is served in.
    private func add(_ name: String, _ json: [UInt8], _ list: WritableKeyPath<Lists, Entries>) {
        let era = (try? JSONValue.parse(json))?["_meta"]?["io.switchyard/era"]?.stringValue
        for e in [Era.legacy, .modern]
        where era == nil || era == "both" || era == (e == .legacy ? "legacy" : "modern") {
            lists[e.rawValue][keyPath: list].json.append(json)
            lists[e.rawValue][keyPath: list].names.append(name)
        }
    }

    /// The links that can run a call of `kind` on `name`.
    func candidates(_ kind: CallPayload.Kind, _ name: String) -> [FrontLink]? {
        switch kind {
        case .tool: return tools[name]
        case .prompt: return prompts[name]
        case .resource:
            if let l = resources[name] { return l }
            return templates.first { MergedCatalog.matches(template: $0.template, uri: name) }?.links
        case .completion: return completionLinks.isEmpty ? nil : completionLinks
        }
    }

    /// RFC 6570 level 1, as resource templates use it: `{var}` stands for one or more characters
    /// other than `/`; everything else is literal.
    static func matches(template: String, uri: String) -> Bool {
        var t = Substring(template), u = Substring(uri)
        while !t.isEmpty {
            if t.first == "{" {
                guard let close = t.firstIndex(of: "}") else { return false }
                t = t[t.index(after: close)...]
                let stop = t.first
                var n = 0
                while let c = u.first, c != "/", c != stop { u = u.dropFirst(); n += 1 }
                if n == 0 { return false }
            } else {
                guard u.first == t.first else { return false }
                t = t.dropFirst()
                u = u.dropFirst()
            }
        }
        return u.isEmpty
    }
}
