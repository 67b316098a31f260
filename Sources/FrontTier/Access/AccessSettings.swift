import Security

/// How a front authenticates and authorizes (from `--auth-*`, `--api-keys`, `--policy`): the
/// authenticator of bearer credentials, the policy, and the authorization server and audience
/// that the protected-resource metadata names. nil in `FrontOptions` = authentication off.
public struct AccessSettings: @unchecked Sendable {
    // @unchecked: the authenticator is handed to the front's loop thread once, at start, and
    // used there only.
    public var authenticator: any BearerAuthenticator
    public var policy: Policy
    /// The OAuth authorization server (`--auth-issuer`) and this resource's identifier
    /// (`--auth-audience`); both set for the metadata and its challenges, nil with API keys only.
    public var issuer: String?
    public var audience: String?

    public init(authenticator: any BearerAuthenticator, policy: Policy, issuer: String?, audience: String?) {
        self.authenticator = authenticator
        self.policy = policy
        self.issuer = issuer
        self.audience = audience
    }

    /// Checks what can be checked before the front starts; the error names the option.
    public func validate(endpointPath: String) throws {
        _ = try metadata(endpointPath: endpointPath)
    }

    func metadata(endpointPath: String) throws -> ProtectedResource? {
        guard let issuer, let audience else { return nil }
        return try ProtectedResource(audience: audience, issuer: issuer, scopes: policy.scopesSupported,
                                     endpointPath: endpointPath)
    }
}
