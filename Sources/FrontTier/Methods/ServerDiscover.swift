import MCPCore

/// `server/discover` (stateless era): the versions of both eras, capabilities, server identity.
final class ServerDiscover: MethodHandler {
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    func handle(_ r: inout FrontRequest) { s.writer.result(r.target, result()) }

    func result() -> String {
        let versions = ModernRequest.allVersions.map { JSONValue.quote($0) }.joined(separator: ",")
        let serverInfo = "{\"name\":\"switchyard\",\"title\":\"Switchyard\",\"version\":\"\(s.options.serverVersion)\"}"
        return "{\"supportedVersions\":[\(versions)],\"capabilities\":\(s.capabilitiesJSON(stateless: true)),"
            + "\"instructions\":\(JSONValue.quote(FrontServices.instructions)),"
            + "\"_meta\":{\"io.modelcontextprotocol/serverInfo\":\(serverInfo)},"
            + "\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"public\"}"
    }
}
