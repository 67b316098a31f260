/// The `headers` of a remote upstream, checked when the configuration is read: names must be
/// tokens and values free of CR/LF (no header injection), and the fields the transport sets
/// itself may not be overridden. Error messages name a field, never its value (it may be a secret).
enum RemoteHeaders {
    /// Set by the bridge on every request (or by HTTP itself).
    static let reserved: Set<String> = ["host", "content-length", "content-type", "accept", "transfer-encoding",
                                        "connection", "mcp-session-id", "mcp-protocol-version", "mcp-method",
                                        "mcp-name", "last-event-id"]

    static func check(_ headers: [String: String], what: String) throws(UpstreamSpec.Invalid) {
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.count <= 256, name.utf8.allSatisfy({ c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || "!#$%&'*+-.^_`|~".utf8.contains(c)
            }) else { throw UpstreamSpec.Invalid("\(what): header name '\(name.prefix(40))' is not an HTTP token") }
            guard !reserved.contains(name.lowercased()) else {
                throw UpstreamSpec.Invalid("\(what): header '\(name)' is set by Switchyard itself")
            }
            guard value.utf8.count <= 8192, value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw UpstreamSpec.Invalid("\(what): the value of header '\(name)' has control characters (or is over 8 KiB)")
            }
        }
    }
}
