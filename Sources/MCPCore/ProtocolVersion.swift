/// MCP protocol revisions this server speaks in the initialize handshake.
public enum ProtocolVersion {
    /// Newest first.
    public static let supported = ["2025-11-25", "2025-06-18", "2025-03-26"]
    public static let latest = supported[0]
    /// The version to assume when a session's requests carry no MCP-Protocol-Version header.
    public static let assumedWhenMissing = "2025-03-26"

    /// The version to answer an initialize with: the client's when we speak it, else our latest.
    public static func negotiate(requested: String?) -> String {
        if let r = requested, supported.contains(r) { return r }
        return latest
    }

    public static func isSupported(_ v: String) -> Bool { supported.contains(v) }
}
