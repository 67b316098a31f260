import MCPCore

/// Who may use which tool, resource and prompt (`--policy FILE`):
///
///     {"defaultScopes": ["mcp:tools"],
///      "tools":     {"sha256": {"scopes": ["tools:admin"]}},
///      "resources": {"file:///private/": {"scopes": ["files:read"], "principals": ["alice"]}},
///      "prompts":   {"review": {"scopes": ["prompts"], "clients": ["ide"]}}}
///
/// An item with an entry of its own (a tool or prompt by name, a resource by the longest URI
/// prefix that has an entry) needs that entry's scopes; any other item needs `defaultScopes`.
/// An entry may also list the `principals` and `clients` (OAuth client ids) allowed to use it: a
/// caller outside a list is denied whatever its scopes. A principal is a subject (`alice`: any
/// way of authenticating) or a method and a subject (`oauth:alice`, `api-key:ci-bot`,
/// `client-certificate:CN=alice,O=Example`), for when an API key's name could equal a token's
/// subject. Methods that use no item
/// (initialize, ping, the list methods) need only authentication; the list methods show each
/// caller only what it may use.
public struct Policy: Sendable, Equatable {
    /// What one item requires.
    public struct Rule: Sendable, Equatable {
        public var scopes: [String]
        /// Subjects allowed; nil: any.
        public var principals: Set<String>?
        /// Client ids allowed; nil: any.
        public var clients: Set<String>?

        public init(scopes: [String], principals: Set<String>? = nil, clients: Set<String>? = nil) {
            self.scopes = scopes
            self.principals = principals
            self.clients = clients
        }
    }

    /// The kinds of item a rule can name.
    public enum Kind: String, Sendable { case tool, resource, prompt }

    /// Why a caller may not use an item.
    public enum Denial: Sendable, Equatable {
        /// Missing scopes: a client can step up by asking for `needed` (403 insufficient_scope).
        case insufficientScope(needed: [String])
        /// The item is not for this principal or client at all: no scope helps.
        case notAllowed
    }

    public var defaultRule: Rule
    public var tools: [String: Rule]
    public var prompts: [String: Rule]
    /// Resource rules by URI prefix, longest first (the first match wins).
    public private(set) var resources: [(prefix: String, rule: Rule)]

    public init(defaultScopes: [String] = [], tools: [String: Rule] = [:], prompts: [String: Rule] = [:],
                resources: [String: Rule] = [:]) {
        defaultRule = Rule(scopes: defaultScopes)
        self.tools = tools
        self.prompts = prompts
        self.resources = resources.sorted { $0.key.utf8.count > $1.key.utf8.count }.map { ($0.key, $0.value) }
    }

    /// No requirement at all: what a server without `--policy` enforces.
    public static let open = Policy()

    public static func == (a: Policy, b: Policy) -> Bool {
        a.defaultRule == b.defaultRule && a.tools == b.tools && a.prompts == b.prompts
            && a.resources.elementsEqual(b.resources) { $0.prefix == $1.prefix && $0.rule == $1.rule }
    }

    /// The rule for an item.
    public func rule(_ kind: Kind, _ name: String) -> Rule {
        switch kind {
        case .tool: return tools[name] ?? defaultRule
        case .prompt: return prompts[name] ?? defaultRule
        case .resource: return resources.first { name.hasPrefix($0.prefix) }?.rule ?? defaultRule
        }
    }

    /// Whether `principal` may use the item; nil when it may.
    public func check(_ principal: Principal, _ kind: Kind, _ name: String) -> Denial? {
        let r = rule(kind, name)
        if let allowed = r.principals, !allowed.contains(principal.subject),
           !allowed.contains(principal.method.rawValue + ":" + principal.subject) { return .notAllowed }
        if let allowed = r.clients, !allowed.contains(principal.clientId ?? "") { return .notAllowed }
        let missing = r.scopes.filter { !principal.scopes.contains($0) }
        // A step-up asks for everything the item needs, not only what is missing (RFC 6750
        // §3: `scope` is the scope necessary to access the resource).
        return missing.isEmpty ? nil : .insufficientScope(needed: r.scopes)
    }

    /// Every scope the policy names, for `scopes_supported` in the resource metadata.
    public var scopesSupported: [String] {
        var seen = Set<String>(), out: [String] = []
        let all = [defaultRule] + tools.keys.sorted().map { tools[$0]! } + prompts.keys.sorted().map { prompts[$0]! }
            + resources.map(\.rule)
        for r in all { for s in r.scopes where seen.insert(s).inserted { out.append(s) } }
        return out
    }

    // MARK: Reading a policy file

    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Parses a policy document; errors name the member and the problem.
    public init(json: [UInt8]) throws(FormatError) {
        guard let value = try? JSONValue.parse(json) else { throw FormatError(description: "the policy is not JSON") }
        guard case .object(let top) = value else { throw FormatError(description: "the policy must be a JSON object") }
        let known: Set<String> = ["defaultScopes", "tools", "resources", "prompts"]
        if let unknown = top.keys.sorted().first(where: { !known.contains($0) }) {
            throw FormatError(description: "unknown policy member \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        let defaults = try Self.strings(top["defaultScopes"], at: "defaultScopes") ?? []
        self.init(defaultScopes: defaults,
                  tools: try Self.rules(top["tools"], at: "tools"),
                  prompts: try Self.rules(top["prompts"], at: "prompts"),
                  resources: try Self.rules(top["resources"], at: "resources"))
    }

    private static func rules(_ v: JSONValue?, at path: String) throws(FormatError) -> [String: Rule] {
        guard let v else { return [:] }
        guard case .object(let members) = v else { throw FormatError(description: "\(path) must be an object") }
        var out: [String: Rule] = [:]
        for (name, entry) in members {
            let at = "\(path).\(name)"
            guard case .object(let o) = entry else { throw FormatError(description: "\(at) must be an object") }
            if let unknown = o.keys.sorted().first(where: { !["scopes", "principals", "clients"].contains($0) }) {
                throw FormatError(description: "\(at): unknown member \"\(unknown)\" (known: clients, principals, scopes)")
            }
            let scopes = try strings(o["scopes"], at: at + ".scopes") ?? []
            let principals = try strings(o["principals"], at: at + ".principals", scopeTokens: false)
            let clients = try strings(o["clients"], at: at + ".clients", scopeTokens: false)
            out[name] = Rule(scopes: scopes, principals: principals.map(Set.init), clients: clients.map(Set.init))
        }
        return out
    }

    /// `scopeTokens`: the strings are scopes, which RFC 6749 §3.3 limits to printable ASCII
    /// without space, quote or backslash (they go into a `WWW-Authenticate` quoted string).
    private static func strings(_ v: JSONValue?, at path: String, scopeTokens: Bool = true)
        throws(FormatError) -> [String]? {
        guard let v else { return nil }
        guard case .array(let items) = v else { throw FormatError(description: "\(path) must be an array of strings") }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item, !s.isEmpty else {
                throw FormatError(description: "\(path) must be an array of non-empty strings")
            }
            if scopeTokens, s.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == 0x22 || $0 == 0x5C }) {
                throw FormatError(description: "\(path): \"\(s)\" is not a scope (printable ASCII without spaces, quotes or backslashes)")
            }
            out.append(s)
        }
        return out
    }
}
