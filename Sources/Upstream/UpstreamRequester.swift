import MCPCore

/// What listing a catalog needs of an upstream: its capabilities and a way to send one request
/// and get its answer. A stdio copy (`UpstreamCopy`) and a remote upstream (`RemoteUpstream`)
/// both serve it. Thread: the loop thread.
protocol UpstreamRequester: AnyObject {
    var serverCapabilities: [String: JSONValue] { get }
    func request(_ method: String, _ params: JSONValue?, done: @escaping (JSONRPCLines.Outcome) -> Void)
}

extension UpstreamCopy: UpstreamRequester {}
