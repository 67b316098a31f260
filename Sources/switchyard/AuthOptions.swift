import ArgumentParser
import EventLoop
import FrontTier
import Glibc
import MCPCore
import Security

/// Authentication and authorization options, shared by `serve` (which forwards them to its
/// fronts) and `front`. Paths only: a front reads the files itself, so no secret ever crosses
/// a command line. README.md, "Security".
struct AuthOptions: ParsableArguments {
    @Option(help: "OAuth authorization server whose access tokens are accepted (the exact `iss`).")
    var authIssuer: String?
    @Option(help: "This server's resource URL, which tokens must name in `aud` (RFC 8707), e.g. https://mcp.example.com/mcp.")
    var authAudience: String?
    @Option(help: "The issuer's JSON Web Key Set: a file, or an https URL fetched in the background.")
    var authJwks: String?
    @Option(help: "CA certificates (PEM) that an https --auth-jwks must chain to, instead of the system's.")
    var authJwksCaFile: String?
    @Option(help: "File (chmod 600) holding an HMAC secret: only then are HS256/384/512 tokens accepted.")
    var authSharedSecretFile: String?
    @Option(help: "Seconds of clock difference allowed on exp, nbf and iat (default 60, at most 300).")
    var authClockSkew: Int?
    @Option(help: "At most one JWKS refetch per this many seconds, on an unknown key id (default 30).")
    var authJwksRefetchInterval: Int?
    @Option(help: "API keys file made by `switchyard keys new` (hashes only; chmod 600).")
    var apiKeys: String?
    @Option(help: "JSON policy: the scopes (and principals, clients) each tool, resource prefix and prompt needs.")
    var policy: String?

    /// The options with the config file's values under them (the command line wins).
    func merged(with cfg: ConfigFile) throws -> AuthOptions {
        var o = self
        o.authIssuer = authIssuer ?? cfg.string("authIssuer")
        o.authAudience = authAudience ?? cfg.string("authAudience")
        o.authJwks = authJwks ?? cfg.string("authJwks")
        o.authJwksCaFile = authJwksCaFile ?? cfg.string("authJwksCaFile")
        o.authSharedSecretFile = authSharedSecretFile ?? cfg.string("authSharedSecretFile")
        o.authClockSkew = try cfg.int(authClockSkew, "authClockSkew", 0...NumberSetting.maxSeconds)
        o.authJwksRefetchInterval = try cfg.int(authJwksRefetchInterval, "authJwksRefetchInterval",
                                                0...NumberSetting.maxSeconds)
        o.apiKeys = apiKeys ?? cfg.string("apiKeys")
        o.policy = policy ?? cfg.string("policy")
        return o
    }

    static let configKeys = ["authIssuer", "authAudience", "authJwks", "authJwksCaFile", "authSharedSecretFile",
                             "authClockSkew", "authJwksRefetchInterval", "apiKeys", "policy"]

    var enabled: Bool {
        authIssuer != nil || authAudience != nil || authJwks != nil || authSharedSecretFile != nil || apiKeys != nil
    }

    /// The same options for a front's command line.
    var frontArguments: [String] {
        var argv: [String] = []
        func add(_ name: String, _ value: String?) { if let value { argv += ["--" + name, value] } }
        add("auth-issuer", authIssuer)
        add("auth-audience", authAudience)
        add("auth-jwks", authJwks)
        add("auth-jwks-ca-file", authJwksCaFile)
        add("auth-shared-secret-file", authSharedSecretFile)
        add("auth-clock-skew", authClockSkew.map(String.init))
        add("auth-jwks-refetch-interval", authJwksRefetchInterval.map(String.init))
        add("api-keys", apiKeys)
        add("policy", policy)
        return argv
    }

    /// The policy file, parsed; `Policy.open` without one.
    func loadPolicy() throws -> Policy {
        guard let path = policy else { return .open }
        let file = try PrivateFile.read(path, what: "policy file")
        do { return try Policy(json: file.bytes) } catch {
            throw ValidationError("--policy \(path): \(error)")
        }
    }

    /// What a front enforces; nil when authentication is off. Checks everything a front would
    /// refuse at start (serve calls it before starting any child): errors name the option.
    func settings(endpointPath: String = "/mcp") throws -> AccessSettings? {
        guard enabled else {
            if policy != nil {
                throw ValidationError("--policy needs authentication: give --auth-issuer, --auth-audience and "
                                      + "--auth-jwks, or --api-keys")
            }
            return nil
        }
        let policy = try loadPolicy()
        do {
            let configuration = try AuthConfiguration(
                issuer: authIssuer, audience: authAudience, jwks: authJwks, jwksCAFile: authJwksCaFile,
                sharedSecretFile: authSharedSecretFile,
                clockSkew: UInt64(try nonNegative(authClockSkew, "auth-clock-skew") ?? 60),
                apiKeysFile: apiKeys,
                jwksRefetchInterval: UInt64(try nonNegative(authJwksRefetchInterval, "auth-jwks-refetch-interval") ?? 30))
            let log = Log("auth")
            let authenticator = try BearerAuthentication(configuration: configuration, report: { result in
                switch result {
                case .success(let set): log.info("JWKS fetched", [("keys", String(set.keys.count))])
                case .failure(let e): log.warning("JWKS fetch failed; the keys in use stay", [("error", "\(e)")])
                }
            })
            let s = AccessSettings(authenticator: authenticator, policy: policy, issuer: authIssuer,
                                   audience: authAudience)
            try s.validate(endpointPath: endpointPath)
            return s
        } catch let e as AuthConfigurationError {
            throw ValidationError("--\(e.option): \(e.problem)")
        }
    }

    /// For `serve`, before any child starts: what `settings()` checks, without starting the
    /// background fetch of an https JWKS (the fronts fetch their own). Not named `validate`:
    /// the argument parser would run it on the command line's values alone, before `serve`
    /// merges the config file's, and before `stdio` can refuse these options by name.
    func check() throws {
        guard enabled else { _ = try settings(); return }
        if let jwks = authJwks, jwks.lowercased().hasPrefix("https://") {
            _ = try loadPolicy()
            do {
                _ = try AuthConfiguration(issuer: authIssuer, audience: authAudience, jwks: authJwks,
                                          jwksCAFile: authJwksCaFile, sharedSecretFile: authSharedSecretFile,
                                          apiKeysFile: apiKeys)
            } catch let e as AuthConfigurationError {
                throw ValidationError("--\(e.option): \(e.problem)")
            }
            return
        }
        _ = try settings()
    }

    private func nonNegative(_ v: Int?, _ option: String) throws -> Int? {
        try NumberSetting.checkIfGiven(v, option: "--" + option, 0...NumberSetting.maxSeconds)
    }
}
