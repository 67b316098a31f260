import MCPCore

/// Everything one copy lists: tools, resources, resource templates and prompts (raw MCP
/// objects, every page), and whether it completes arguments.
struct UpstreamListing: Sendable {
    var tools: [JSONValue] = []
    var resources: [JSONValue] = []
    var resourceTemplates: [JSONValue] = []
    var prompts: [JSONValue] = []
    var completions = false
    /// The copy takes `resources/subscribe` (capability `resources.subscribe`).
    var subscriptions = false

    /// Lists what `copy` serves, as its capabilities say, following `nextCursor` (at most 100
    /// pages a list). Thread: the loop thread.
    static func fetch(from copy: some UpstreamRequester, done: @escaping (Result<UpstreamListing, UpstreamFailure>) -> Void) {
        let caps = copy.serverCapabilities
        var steps: [(method: String, member: String, keyPath: WritableKeyPath<UpstreamListing, [JSONValue]>)] = []
        if caps["tools"] != nil { steps.append(("tools/list", "tools", \.tools)) }
        if caps["resources"] != nil {
            steps.append(("resources/list", "resources", \.resources))
            steps.append(("resources/templates/list", "resourceTemplates", \.resourceTemplates))
        }
        if caps["prompts"] != nil { steps.append(("prompts/list", "prompts", \.prompts)) }
        var listing = UpstreamListing()
        listing.completions = caps["completions"] != nil
        listing.subscriptions = caps["resources"]?["subscribe"] == .bool(true)
        var pages = 0
        func next(_ index: Int, cursor: String?) {
            guard index < steps.count else { done(.success(listing)); return }
            let step = steps[index]
            let params: JSONValue? = cursor.map { .object(["cursor": .string($0)]) }
            copy.request(step.method, params) { outcome in
                switch outcome {
                case .error(let code, let message, _):
                    done(.failure(UpstreamFailure(code: code, message: "\(step.method) failed: \(message)", data: nil)))
                case .result(let r):
                    guard case .array(let items)? = r[step.member] else {
                        done(.failure(UpstreamFailure(code: -32603, message: "\(step.method) answer has no \(step.member) array",
                                                      data: nil)))
                        return
                    }
                    listing[keyPath: step.keyPath] += items
                    pages += 1
                    if let c = r["nextCursor"]?.stringValue, !c.isEmpty, pages < 100 {
                        next(index, cursor: c)
                    } else {
                        pages = 0
                        next(index + 1, cursor: nil)
                    }
                }
            }
        }
        next(0, cursor: nil)
    }

    /// The names clients see (the prefix applied), each with what it is, for conflict checks.
    func publicNames(prefix: String) -> [(kind: String, name: String)] {
        tools.compactMap { $0["name"]?.stringValue }.map { ("tool", prefix + $0) }
            + prompts.compactMap { $0["name"]?.stringValue }.map { ("prompt", prefix + $0) }
            + resources.compactMap { $0["uri"]?.stringValue }.map { ("resource", $0) }
            + resourceTemplates.compactMap { $0["uriTemplate"]?.stringValue }.map { ("resource template", $0) }
    }
}
