import ArgumentParser
import Glibc
import TLS

/// The TLS options of `serve` and `front` (README.md, "TLS"). Without `--tls-cert` the main port
/// speaks plain HTTP, as `make run` does.
struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: """
        Serve HTTPS: PEM certificate chain, the leaf first. Needs --tls-key. \
        `switchyard reload --tls` (SIGUSR2) reads it again for new connections.
        """)
    var certificate: String?
    @Option(name: .customLong("tls-key"),
            help: "PEM private key of --tls-cert; refused when group or others can read it (chmod 600).")
    var key: String?
    @Option(name: .customLong("tls-client-ca"), help: """
        PEM CA certificates: ask clients for a certificate and refuse one that does not chain to them; \
        a verified certificate's subject is given to the auth stage. Clients without one still connect.
        """)
    var clientCA: String?
    @Option(name: .customLong("tls-min-version"), help: "Lowest TLS version accepted: 1.2 (default) or 1.3.")
    var minVersion: String?

    /// The settings from the command line over `config` (members tlsCert, tlsKey, tlsClientCa,
    /// tlsMinVersion, listed in ConfigFile's known keys); nil for plain HTTP. Session tickets'
    /// keys are derived from `ticketSecret` (the session key every front shares).
    func settings(config: ConfigFile = ConfigFile(), ticketSecret: [UInt8]) throws -> TLSSettings? {
        let cert = certificate ?? config.string("tlsCert")
        let key = self.key ?? config.string("tlsKey")
        let clientCA = self.clientCA ?? config.string("tlsClientCa")
        let version = minVersion ?? config.string("tlsMinVersion")
        guard let cert else {
            if key != nil || clientCA != nil || version != nil {
                throw ValidationError("--tls-key, --tls-client-ca and --tls-min-version need --tls-cert")
            }
            return nil
        }
        guard let key else { throw ValidationError("--tls-cert needs --tls-key") }
        var minimum = TLSSettings.MinimumVersion.tls12
        if let version {
            guard let v = TLSSettings.MinimumVersion(rawValue: version) else {
                throw ValidationError("--tls-min-version takes 1.2 or 1.3, got '\(version)'")
            }
            minimum = v
        }
        return TLSSettings(certificateFile: Self.absolute(cert), keyFile: Self.absolute(key),
                           clientCAFile: clientCA.map(Self.absolute), minimumVersion: minimum,
                           ticketSecret: ticketSecret)
    }

    /// Builds a context once, so that a bad file stops `serve` with its reason before any front starts.
    static func check(_ settings: TLSSettings?) throws {
        guard let settings else { return }
        do { _ = try TLSContext.server(settings) } catch { throw ValidationError(error.message) }
    }

    /// The arguments that give a front the same settings (never the ticket secret: fronts get
    /// the session key in their environment).
    static func frontArguments(_ settings: TLSSettings?) -> [String] {
        guard let s = settings else { return [] }
        var argv = ["--tls-cert", s.certificateFile, "--tls-key", s.keyFile, "--tls-min-version", s.minimumVersion.rawValue]
        if let ca = s.clientCAFile { argv += ["--tls-client-ca", ca] }
        return argv
    }

    /// The URL scheme the server announces.
    static func scheme(_ settings: TLSSettings?) -> String { settings == nil ? "http" : "https" }

    /// A path as given, made absolute against the working directory (a reload reopens it by name).
    private static func absolute(_ path: String) -> String {
        guard path.first != "/" else { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        return String(cString: buf) + "/" + path
    }
}
