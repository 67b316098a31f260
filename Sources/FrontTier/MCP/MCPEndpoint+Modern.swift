import CSupport
import MCPCore
import WireProtocol

/// The stateless revision (2026-07-28) on the same endpoint: per-request `_meta` and headers
/// instead of a session, `server/discover`, 404 for what the revision removed.
extension MCPEndpoint {
    func modernPost(_ req: HTTPRequest, _ env: Envelope, _ body: UnsafeRawBufferPointer, _ method: String,
                    _ idJSON: [UInt8]?, _ slot: ResponseSlot, _ c: HTTPConnection, _ format: AnswerFormat, _ ka: Bool) {
        guard let id = idJSON else {
            // Notifications need no answer; cancellation in this revision is closing the stream.
            accepted(req, slot, c, ka)
            return
        }
        // The whole params object is decoded only where something in it beyond the envelope
        // is read: a tools/call's arguments stay bytes for the executor.
        let needsParams = method == "resources/read" || method == "subscriptions/listen"
        let params = needsParams ? env.params(in: body) : nil
        let meta = env.raw.meta.kind == Int32(SY_JSON_OBJECT) ? ModernRequest.knownMeta(Envelope.bytes(body, env.raw.meta)) : nil
        let name = method == "resources/read" ? params?["uri"]?.stringValue : env.name(in: body)
        let context: ModernRequest.Context
        do throws(ProtocolError) {
            context = try ModernRequest.validate(meta: meta, versionHeader: req.header(.mcpProtocolVersion),
                                                 methodHeader: req.header(.mcpMethod), nameHeader: req.header(.mcpName),
                                                 method: method, name: name)
        } catch {
            rpcError(slot, c, id: id, error, format: format, keepAlive: ka)
            return
        }
        if ModernRequest.removedMethods.contains(method) {
            rpcError(slot, c, id: id, ProtocolError(.methodNotFound, "Method not found: \(method) (removed in \(context.protocolVersion))",
                                                    httpStatus: 404), format: format, keepAlive: ka)
            return
        }
        let r = Request(id: id, format: format, keepAlive: ka, modern: context, session: nil)
        switch method {
        case "subscriptions/listen":
            listen(params, id, slot, c, ka)
        case "server/discover":
            result(slot, c, id: id, resultJSON: Array(discoverJSON().utf8), format: format, keepAlive: ka)
        case "tools/call":
            guard let name else {
                rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: tools/call needs params.name (a string)"),
                         format: format, keepAlive: ka)
                return
            }
            let argKind = Int(env.raw.arguments.kind)
            guard argKind == Int(SY_JSON_ABSENT) || argKind == Int(SY_JSON_OBJECT) else {
                rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: arguments must be an object"),
                         format: format, keepAlive: ka)
                return
            }
            startCall(.tool, name: name, arguments: env.raw.arguments, env, body, req, r, slot, c)
        default:
            sharedMethod(method, env, body, req, r, slot, c)
        }
    }

    /// Opens a notification stream: an acknowledgement first (with the honored filter), then
    /// every matching notification, each carrying the subscription id (the request's id).
    private func listen(_ params: JSONValue?, _ id: [UInt8], _ slot: ResponseSlot, _ c: HTTPConnection, _ ka: Bool) {
        let n = params?["notifications"]
        var f = Listeners.Filter()
        if case .bool(true)? = n?["toolsListChanged"] { f.tools = true }
        if case .bool(true)? = n?["promptsListChanged"] { f.prompts = true }
        if case .bool(true)? = n?["resourcesListChanged"] { f.resources = true }
        if case .array(let uris)? = n?["resourceSubscriptions"] { f.resourceURIs = Set(uris.compactMap(\.stringValue)) }
        let idText = String(decoding: id, as: UTF8.self)
        count(slot, 200)
        slot.streaming = true
        slot.append(.text(HTTPResponse.streamHead(keepAlive: ka)))
        if !ka { slot.closeAfter = true }
        let ack = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\",\"params\":{\"_meta\":{\"io.modelcontextprotocol/subscriptionId\":\(idText)},\"notifications\":\(f.json)}}"
        slot.appendEventChunk(Array(ack.utf8))
        c.push(slot)
        listeners.add(Listeners.Stream(connection: c, slot: slot, subscriptionId: idText, filter: f, key: nil))
    }

    /// The `server/discover` result: versions of both eras, capabilities, server identity.
    func discoverJSON() -> String {
        let versions = ModernRequest.allVersions.map { JSONValue.quote($0) }.joined(separator: ",")
        return "{\"supportedVersions\":[\(versions)],\"capabilities\":\(capabilitiesJSON(modern: true)),"
            + "\"instructions\":\"Switchyard serves the tools of its executors; call tools/list to see them.\","
            + "\"_meta\":{\"io.modelcontextprotocol/serverInfo\":{\"name\":\"switchyard\",\"title\":\"Switchyard\",\"version\":\"\(options.serverVersion)\"}},"
            + "\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"public\"}"
    }
}
