import MCPCore

/// A `completion/complete` request (CALL kind 4): which prompt argument or template variable
/// is being typed, and what has been typed so far.
public struct CompletionRequest: RequestHandle {
    public typealias Handler = @Sendable (CompletionRequest) async throws -> CompletionResult

    public enum Reference: Sendable, Equatable {
        case prompt(name: String)
        case resourceTemplate(uri: String)
    }
    public var ref: Reference
    public var argumentName: String
    public var argumentValue: String
    /// Values of the other arguments already chosen (`context.arguments`).
    public var contextArguments: [String: String]
    public let request: RequestContext

    public init(ref: Reference, argumentName: String, argumentValue: String, contextArguments: [String: String] = [:],
                request: RequestContext) {
        self.ref = ref; self.argumentName = argumentName; self.argumentValue = argumentValue
        self.contextArguments = contextArguments; self.request = request
    }

    /// Parses the client's `params` object; nil when it is not a valid CompleteRequest.
    static func parse(_ params: JSONValue, request: RequestContext) -> CompletionRequest? {
        guard case .object(let ref)? = params["ref"], case .string(let type)? = ref["type"],
              case .object(let arg)? = params["argument"], case .string(let name)? = arg["name"],
              case .string(let value)? = arg["value"] else { return nil }
        let reference: Reference
        switch type {
        case "ref/prompt":
            guard case .string(let n)? = ref["name"] else { return nil }
            reference = .prompt(name: n)
        case "ref/resource":
            guard case .string(let u)? = ref["uri"] else { return nil }
            reference = .resourceTemplate(uri: u)
        default:
            return nil
        }
        var context: [String: String] = [:]
        if case .object(let a)? = params["context"]?["arguments"] {
            for (k, v) in a { if case .string(let s) = v { context[k] = s } }
        }
        return CompletionRequest(ref: reference, argumentName: name, argumentValue: value,
                                 contextArguments: context, request: request)
    }
}

/// An MCP CompleteResult's `completion`: at most 100 values.
public struct CompletionResult: Sendable, Equatable {
    public var values: [String]
    public var total: Int?
    public var hasMore: Bool

    public init(values: [String], total: Int? = nil, hasMore: Bool = false) {
        self.values = Array(values.prefix(100)); self.total = total ?? values.count
        self.hasMore = hasMore || values.count > 100
    }

    public static let empty = CompletionResult(values: [])

    /// The candidates that start with `prefix`, in order.
    public static func matching(_ candidates: [String], prefix: String) -> CompletionResult {
        CompletionResult(values: candidates.filter { $0.hasPrefix(prefix) })
    }

    public var json: String {
        var c: [String: JSONValue] = ["values": .array(values.map { .string($0) }), "hasMore": .bool(hasMore)]
        if let total { c["total"] = .number(Double(total)) }
        return JSONValue.object(["completion": .object(c)]).compactJSON()
    }
}
