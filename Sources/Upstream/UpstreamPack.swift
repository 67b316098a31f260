import EventLoop
import MCPCore
import ToolSDK

/// Turns a copy's listing into the pack the bridge serves: every tool, resource, template and
/// prompt under its own name (tools and prompts with the upstream's prefix), each handler
/// forwarding to the pool through `link`. Entries a client could not call (a tool name
/// outside MCP's rules) are left out and reported.
enum UpstreamPack {
    static func make(_ listing: UpstreamListing, spec: UpstreamSpec, link: UpstreamLink) -> (ToolPack, [String]) {
        var problems: [String] = []
        var pack = ToolPack()
        let prefix = spec.prefix
        for entry in listing.tools {
            guard case .string(let original)? = entry["name"] else { problems.append("a tool without a name"); continue }
            let name = prefix + original
            guard Tool.isValidName(name) else {
                problems.append("tool '\(name)': not a valid MCP tool name (1-64 of A-Z a-z 0-9 _ - .)")
                continue
            }
            var schema = entry["inputSchema"] ?? .object(["type": .string("object")])
            if case .object = schema {} else { schema = .object(["type": .string("object")]) }
            let annotations = toolAnnotations(entry["annotations"])
            let retryable = annotations?.readOnlyHint == true || annotations?.idempotentHint == true
            var tool = Tool(name: name, title: entry["title"]?.stringValue,
                            description: entry["description"]?.stringValue ?? "", inputSchema: schema,
                            outputSchema: entry["outputSchema"].flatMap { if case .object = $0 { $0 } else { nil } },
                            annotations: annotations,
                            // The bridge ends a late call itself, with a clearer error, just before the front would.
                            timeoutMs: Int(spec.timeoutMs) + 1_000,
                            meta: entry["_meta"]?.objectValue ?? [:]) { call in
                let params: JSONValue = .object(["name": .string(original), "arguments": .object(call.arguments)])
                return try toolResult(try await link.forward("tools/call", params, handle: call, retryable: retryable))
            }
            // The handler only hands the call to the pool and waits: on the bridge's loop thread
            // (the pool's own), a call crosses no thread at all.
            tool.nonBlocking = true
            pack.tools.append(tool)
        }
        let read: Resource.Reader = { r in
            try contents(try await link.forward("resources/read", .object(["uri": .string(r.uri)]), handle: r,
                                            retryable: true))
        }
        for entry in listing.resources {
            guard case .string(let uri)? = entry["uri"] else { problems.append("a resource without a uri"); continue }
            pack.resources.append(Resource(uri: uri, name: entry["name"]?.stringValue ?? uri,
                                           title: entry["title"]?.stringValue,
                                           description: entry["description"]?.stringValue,
                                           mimeType: entry["mimeType"]?.stringValue,
                                           size: entry["size"]?.intValue, read: read))
        }
        for entry in listing.resourceTemplates {
            guard case .string(let t)? = entry["uriTemplate"] else {
                problems.append("a resource template without a uriTemplate"); continue
            }
            pack.resourceTemplates.append(ResourceTemplate(
                uriTemplate: t, name: entry["name"]?.stringValue ?? t, title: entry["title"]?.stringValue,
                description: entry["description"]?.stringValue, mimeType: entry["mimeType"]?.stringValue,
                complete: listing.completions ? complete(link, prefix: prefix) : nil, read: read))
        }
        for entry in listing.prompts {
            guard case .string(let original)? = entry["name"] else { problems.append("a prompt without a name"); continue }
            var arguments: [PromptArgument] = []
            if case .array(let list)? = entry["arguments"] {
                for a in list {
                    guard let n = a["name"]?.stringValue else { continue }
                    arguments.append(PromptArgument(n, description: a["description"]?.stringValue,
                                                    required: a["required"] == .bool(true)))
                }
            }
            pack.prompts.append(Prompt(name: prefix + original, title: entry["title"]?.stringValue,
                                       description: entry["description"]?.stringValue ?? "", arguments: arguments,
                                       complete: listing.completions ? complete(link, prefix: prefix) : nil) { p in
                let params: JSONValue = .object(["name": .string(original),
                                                 "arguments": .object(p.arguments.mapValues(JSONValue.string))])
                return try promptResult(try await link.forward("prompts/get", params, handle: p, retryable: true))
            })
        }
        // The bridge subscribes its copies to the listed resources and passes their updates on.
        pack.subscriptions = listing.subscriptions && !pack.resources.isEmpty
        return (pack, problems)
    }

    static func toolAnnotations(_ v: JSONValue?) -> ToolAnnotations? {
        guard case .object(let o)? = v else { return nil }
        func flag(_ k: String) -> Bool? { if case .bool(let b)? = o[k] { return b } else { return nil } }
        return ToolAnnotations(title: o["title"]?.stringValue, readOnlyHint: flag("readOnlyHint"),
                               destructiveHint: flag("destructiveHint"), idempotentHint: flag("idempotentHint"),
                               openWorldHint: flag("openWorldHint"))
    }

    /// A CallToolResult from a copy, as the SDK sends it on (content blocks kept as they came).
    static func toolResult(_ v: JSONValue) throws -> ToolResult {
        guard case .object(let o) = v else { throw RequestError.internalError("the upstream's tool result is not an object") }
        var content: [ToolContent] = []
        if case .array(let blocks)? = o["content"] { content = blocks.map { ToolContent.raw($0) } }
        let structured = o["structuredContent"].flatMap { $0 == .null ? nil : $0 }
        return ToolResult(content: content, structuredContent: structured, isError: o["isError"] == .bool(true))
    }

    static func contents(_ v: JSONValue) throws -> [ResourceContents] {
        guard case .array(let list)? = v["contents"] else {
            throw RequestError.internalError("the upstream's resources/read answer has no contents array")
        }
        return list.compactMap { c in
            guard let uri = c["uri"]?.stringValue else { return nil }
            let mime = c["mimeType"]?.stringValue
            if let b = c["blob"]?.stringValue { return .blob(uri, base64: b, mimeType: mime) }
            return ResourceContents(uri: uri, mimeType: mime, body: .text(c["text"]?.stringValue ?? ""))
        }
    }

    static func promptResult(_ v: JSONValue) throws -> PromptResult {
        guard case .array(let list)? = v["messages"] else {
            throw RequestError.internalError("the upstream's prompts/get answer has no messages array")
        }
        let messages = list.map { m -> PromptMessage in
            PromptMessage(m["role"]?.stringValue == "assistant" ? .assistant : .user, .raw(m["content"] ?? .null))
        }
        return PromptResult(description: v["description"]?.stringValue, messages: messages)
    }

    /// completion/complete forwarded with the prompt's name as the copy knows it.
    static func complete(_ link: UpstreamLink, prefix: String) -> CompletionRequest.Handler {
        { c in
            let ref: JSONValue
            switch c.ref {
            case .prompt(let name):
                let original = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
                ref = .object(["type": .string("ref/prompt"), "name": .string(original)])
            case .resourceTemplate(let uri):
                ref = .object(["type": .string("ref/resource"), "uri": .string(uri)])
            }
            var params: [String: JSONValue] = [
                "ref": ref,
                "argument": .object(["name": .string(c.argumentName), "value": .string(c.argumentValue)]),
            ]
            if !c.contextArguments.isEmpty {
                params["context"] = .object(["arguments": .object(c.contextArguments.mapValues(JSONValue.string))])
            }
            let r = try await link.forward("completion/complete", .object(params), handle: c, retryable: true)
            guard case .object(let completion)? = r["completion"], case .array(let values)? = completion["values"] else {
                throw RequestError.internalError("the upstream's completion/complete answer has no completion.values")
            }
            return CompletionResult(values: values.compactMap(\.stringValue),
                                    total: completion["total"]?.intValue,
                                    hasMore: completion["hasMore"] == .bool(true))
        }
    }
}
