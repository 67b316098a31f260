import CTLS

/// An OpenSSL context for new connections: certificate chain, key, protocol floor, ALPN
/// `http/1.1`, optional client-certificate verification, shared session tickets.
///
/// Ownership: this object holds one reference on the SSL_CTX and drops it in `deinit`; each
/// connection's SSL holds its own, so a context replaced by a certificate reload lives on until
/// its last connection closes. Thread: immutable once built; connections use it on their loop.
public final class TLSContext {
    let ctx: OpaquePointer
    /// Clients are asked for certificates (a verified subject is worth reading).
    public let verifiesPeers: Bool

    private init(ctx: OpaquePointer, verifiesPeers: Bool) {
        self.ctx = ctx
        self.verifiesPeers = verifiesPeers
    }

    deinit { sy_tls_ctx_free(ctx) }

    /// A server context from `settings`, reading the files now. Errors name the file and
    /// OpenSSL's reason.
    public static func server(_ settings: TLSSettings) throws(TLSError) -> TLSContext {
        var key = try KeyFile.read(settings.keyFile)
        defer { KeyFile.wipe(&key) }
        return try build(server: true, certificate: settings.certificateFile, key: key, keyFile: settings.keyFile,
                         verifyCA: settings.clientCAFile,
                         minimum: settings.minimumVersion == .tls13 ? 13 : 12, maximum: 0, secret: settings.ticketSecret,
                         period: settings.ticketPeriodSeconds)
    }

    /// A client context that trusts `caFile`, optionally presenting a certificate (tests, the
    /// load generator).
    public static func client(trusting caFile: String, certificateFile: String? = nil, keyFile: String? = nil,
                              minimumVersion: TLSSettings.MinimumVersion = .tls12,
                              maximumVersion: TLSSettings.MinimumVersion? = nil) throws(TLSError) -> TLSContext {
        var key: [UInt8] = []
        if let keyFile { key = try KeyFile.read(keyFile) }
        defer { KeyFile.wipe(&key) }
        return try build(server: false, certificate: certificateFile, key: key, keyFile: keyFile ?? "",
                         verifyCA: caFile, minimum: minimumVersion == .tls13 ? 13 : 12,
                         maximum: maximumVersion.map { $0 == .tls13 ? 13 : 12 } ?? 0, secret: [], period: 0)
    }

    /// A client context for a remote server (remote upstreams): it verifies the server's
    /// certificate against `caFile`, or without one against the system's trust store. Each
    /// connection names the host to check (`TLSStream.verifyPeer(name:)`).
    public static func verifyingClient(caFile: String?) throws(TLSError) -> TLSContext {
        try build(server: false, certificate: nil, key: [], keyFile: "", verifyCA: caFile, minimum: 12, maximum: 0,
                  secret: [], period: 0, verifySystem: caFile == nil)
    }

    private static func build(server: Bool, certificate: String?, key: [UInt8], keyFile: String, verifyCA: String?,
                              minimum: Int32, maximum: Int32, secret: [UInt8], period: UInt32,
                              verifySystem: Bool = false) throws(TLSError) -> TLSContext {
        var err = [CChar](repeating: 0, count: 512)
        var out: OpaquePointer?
        let rc: Int32 = key.withUnsafeBufferPointer { k in
            secret.withUnsafeBufferPointer { s in
                keyFile.withCString { label in withOptionalCString(certificate) { cert in
                    withOptionalCString(verifyCA) { ca in
                        var cfg = sy_tls_config_t()
                        cfg.server = server ? 1 : 0
                        cfg.cert_file = cert
                        cfg.key_pem = k.isEmpty ? nil : k.baseAddress
                        cfg.key_pem_len = k.count
                        cfg.key_label = label
                        cfg.verify_ca_file = ca
                        cfg.min_version = minimum
                        cfg.max_version = maximum
                        cfg.ticket_secret = s.isEmpty ? nil : s.baseAddress
                        cfg.ticket_secret_len = s.count
                        cfg.ticket_period_s = period
                        cfg.verify_system = verifySystem ? 1 : 0
                        return sy_tls_ctx_new(&cfg, &out, &err, err.count)
                    }
                } }
            }
        }
        guard rc == 0, let ctx = out else {
            throw TLSError(err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return TLSContext(ctx: ctx, verifiesPeers: server && verifyCA != nil)
    }

    /// Tests only: fixes the clock the ticket keys are derived from (Unix seconds; 0 = real time).
    public func setTicketClock(_ unixSeconds: Int64) { sy_tls_ctx_set_ticket_clock(ctx, unixSeconds) }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}
