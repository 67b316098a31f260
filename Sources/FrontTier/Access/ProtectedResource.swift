import MCPCore
import Security

private func quoted(_ s: String) -> String { JSONValue.quote(s) }

/// The server as an OAuth 2.1 protected resource (RFC 9728): its metadata document, where it
/// is served, and the `WWW-Authenticate` challenges (RFC 6750 §3) that point clients to it.
/// Built once at start from the configured audience (the MCP endpoint's canonical URL) and
/// issuer; the metadata URL comes from the audience, never from a request's Host header.
struct ProtectedResource {
    /// The audience: the resource identifier tokens must be issued for (RFC 8707).
    let resource: String
    /// The absolute URL of the metadata document, as challenges name it.
    let metadataURL: String
    /// The paths the document is served at: the well-known prefix plus the endpoint's path
    /// (and the audience's, when it differs, as behind a proxy), then the bare prefix.
    let metadataPaths: [String]
    /// The document, rendered once.
    let document: String

    static let wellKnown = "/.well-known/oauth-protected-resource"

    struct ConfigurationError: Error, CustomStringConvertible {
        let description: String
    }

    init(audience: String, issuer: String, scopes: [String], endpointPath: String) throws(ConfigurationError) {
        guard let (origin, path) = Self.split(audience) else {
            throw ConfigurationError(description: "--auth-audience must be an absolute http(s) URL without query or "
                                     + "fragment, such as https://mcp.example.com/mcp")
        }
        guard Self.split(issuer) != nil else {
            throw ConfigurationError(description: "--auth-issuer must be an absolute http(s) URL")
        }
        resource = audience
        let suffix = path == "/" ? "" : path
        metadataURL = origin + Self.wellKnown + suffix
        var paths = [Self.wellKnown + (endpointPath == "/" ? "" : endpointPath)]
        if !paths.contains(Self.wellKnown + suffix) { paths.append(Self.wellKnown + suffix) }
        if !paths.contains(Self.wellKnown) { paths.append(Self.wellKnown) }
        metadataPaths = paths
        var doc = "{\"resource\":" + quoted(audience)
            + ",\"authorization_servers\":[" + quoted(issuer) + "]"
        doc += ",\"scopes_supported\":[" + scopes.map(quoted).joined(separator: ",") + "]"
        doc += ",\"bearer_methods_supported\":[\"header\"],\"resource_name\":\"Switchyard MCP server\"}"
        document = doc
    }

    /// `https://host[:port]` and the path (at least "/") of an absolute http(s) URL.
    static func split(_ url: String) -> (origin: String, path: String)? {
        let lower = url.lowercased()
        let scheme = lower.hasPrefix("https://") ? 8 : lower.hasPrefix("http://") ? 7 : 0
        guard scheme > 0, !url.contains("?"), !url.contains("#"),
              url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) else { return nil }
        let rest = url.dropFirst(scheme)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        guard slash > rest.startIndex else { return nil }
        let path = String(rest[slash...])
        return (String(url[..<slash]), path.isEmpty ? "/" : path)
    }
}

/// `WWW-Authenticate` values (RFC 6750 §3). Parameter values are quoted strings: what goes in
/// them (reasons, scopes) never holds a quote or backslash (`Challenge.safe`).
enum Challenge {
    /// No credentials, or a scheme other than Bearer: no error code, where to find the metadata
    /// and the scopes a first token should ask for.
    static func missing(_ resource: ProtectedResource?, scopes: [String]) -> String {
        var params: [String] = []
        if let resource { params.append("resource_metadata=\"\(resource.metadataURL)\"") }
        if !scopes.isEmpty { params.append("scope=\"\(scopes.joined(separator: " "))\"") }
        if params.isEmpty { params.append("realm=\"switchyard\"") }
        return "Bearer " + params.joined(separator: ", ")
    }

    /// A credential that did not verify (`invalid_token`) or a malformed request (`invalid_request`).
    static func failed(_ failure: AuthFailure, _ resource: ProtectedResource?) -> String {
        var v = "Bearer error=\"\(failure.kind.rawValue)\", error_description=\"\(safe(failure.reason))\""
        if let resource { v += ", resource_metadata=\"\(resource.metadataURL)\"" }
        return v
    }

    /// A valid token without the scopes an item needs: a client may step up by asking for `scopes`.
    static func insufficientScope(_ scopes: [String], _ resource: ProtectedResource?) -> String {
        var v = "Bearer error=\"insufficient_scope\", scope=\"\(scopes.joined(separator: " "))\""
        if let resource { v += ", resource_metadata=\"\(resource.metadataURL)\"" }
        return v + ", error_description=\"the token lacks a scope this needs\""
    }

    /// Printable ASCII without quote or backslash, at most 200 bytes.
    static func safe(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.prefix(200).map {
            $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" ? $0 : "?"
        }))
    }
}
