import MCPCore

/// The contents of a resource (MCP TextResourceContents or BlobResourceContents).
public struct ResourceContents: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case text(String)
        /// Base64 data.
        case blob(String)
    }
    public var uri: String
    public var mimeType: String?
    public var body: Body

    public init(uri: String, mimeType: String? = nil, body: Body) {
        self.uri = uri; self.mimeType = mimeType; self.body = body
    }

    public static func text(_ uri: String, _ text: String, mimeType: String? = "text/plain") -> ResourceContents {
        ResourceContents(uri: uri, mimeType: mimeType, body: .text(text))
    }

    public static func blob(_ uri: String, base64: String, mimeType: String?) -> ResourceContents {
        ResourceContents(uri: uri, mimeType: mimeType, body: .blob(base64))
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["uri": .string(uri)]
        if let mimeType { o["mimeType"] = .string(mimeType) }
        switch body {
        case .text(let t): o["text"] = .string(t)
        case .blob(let b): o["blob"] = .string(b)
        }
        return .object(o)
    }
}

/// What a resource handler receives: the URI read, the template's variables (empty for a
/// static resource) and the request context.
public struct ResourceRead: RequestHandle {
    public var uri: String
    public var variables: [String: String]
    public let request: RequestContext

    public init(uri: String, variables: [String: String] = [:], request: RequestContext) {
        self.uri = uri; self.variables = variables; self.request = request
    }
}

/// One resource listed in `resources/list`, read by `resources/read` (CALL kind 2).
public struct Resource: Sendable {
    public typealias Reader = @Sendable (ResourceRead) async throws -> [ResourceContents]

    public var uri: String
    public var name: String
    public var title: String?
    public var description: String?
    public var mimeType: String?
    public var size: Int?
    public var availableIn: Availability
    public var read: Reader

    public init(uri: String, name: String, title: String? = nil, description: String? = nil, mimeType: String? = nil,
                size: Int? = nil, availableIn: Availability = .both, read: @escaping Reader) {
        self.uri = uri; self.name = name; self.title = title; self.description = description
        self.mimeType = mimeType; self.size = size; self.availableIn = availableIn; self.read = read
    }

    /// A resource whose contents never change: text, or base64 `blob`.
    public init(uri: String, name: String, title: String? = nil, description: String? = nil, mimeType: String? = nil,
                availableIn: Availability = .both, contents body: ResourceContents.Body) {
        let contents = ResourceContents(uri: uri, mimeType: mimeType, body: body)
        self.init(uri: uri, name: name, title: title, description: description, mimeType: mimeType,
                  availableIn: availableIn) { _ in [contents] }
    }

    /// The MCP Resource object served in `resources/list`.
    public var catalogJSON: JSONValue {
        var o: [String: JSONValue] = ["uri": .string(uri), "name": .string(name)]
        if let title { o["title"] = .string(title) }
        if let description { o["description"] = .string(description) }
        if let mimeType { o["mimeType"] = .string(mimeType) }
        if let size { o["size"] = .number(Double(size)) }
        var meta: [String: JSONValue] = [:]
        availableIn.addMeta(to: &meta)
        if !meta.isEmpty { o["_meta"] = .object(meta) }
        return .object(o)
    }
}

/// Resources named by an RFC 6570 level-1 URI template such as `test://template/{id}/data`.
/// Each `{var}` matches one or more characters other than `/`.
public struct ResourceTemplate: Sendable {
    public var uriTemplate: String
    public var name: String
    public var title: String?
    public var description: String?
    public var mimeType: String?
    public var availableIn: Availability
    /// Completes a template variable (`completion/complete` with `ref/resource`).
    public var complete: CompletionRequest.Handler?
    public var read: Resource.Reader

    public init(uriTemplate: String, name: String, title: String? = nil, description: String? = nil,
                mimeType: String? = nil, availableIn: Availability = .both,
                complete: CompletionRequest.Handler? = nil, read: @escaping Resource.Reader) {
        self.uriTemplate = uriTemplate; self.name = name; self.title = title; self.description = description
        self.mimeType = mimeType; self.availableIn = availableIn; self.complete = complete; self.read = read
    }

    /// The MCP ResourceTemplate object served in `resources/templates/list`.
    public var catalogJSON: JSONValue {
        var o: [String: JSONValue] = ["uriTemplate": .string(uriTemplate), "name": .string(name)]
        if let title { o["title"] = .string(title) }
        if let description { o["description"] = .string(description) }
        if let mimeType { o["mimeType"] = .string(mimeType) }
        var meta: [String: JSONValue] = [:]
        availableIn.addMeta(to: &meta)
        if !meta.isEmpty { o["_meta"] = .object(meta) }
        return .object(o)
    }

    /// The variables when `uri` matches the template, else nil.
    public func match(_ uri: String) -> [String: String]? {
        ResourceTemplate.match(Array(uriTemplate.utf8)[...], Array(uri.utf8)[...], [:])
    }

    private static func match(_ t: ArraySlice<UInt8>, _ u: ArraySlice<UInt8>,
                              _ vars: [String: String]) -> [String: String]? {
        guard let open = t.firstIndex(of: UInt8(ascii: "{")) else { return t.elementsEqual(u) ? vars : nil }
        let literal = t[t.startIndex..<open]
        guard u.starts(with: literal), let close = t[open...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
        let name = String(decoding: t[(open + 1)..<close], as: UTF8.self)
        let rest = t[(close + 1)...]
        let value = u[(u.startIndex + literal.count)...]
        // Try each non-empty, slash-free prefix as the variable's value.
        var end = value.startIndex
        while end < value.endIndex {
            if value[end] == UInt8(ascii: "/") { return nil }
            end += 1
            var v = vars
            v[name] = String(decoding: value[value.startIndex..<end], as: UTF8.self)
            if let m = match(rest, value[end...], v) { return m }
        }
        return nil
    }
}
