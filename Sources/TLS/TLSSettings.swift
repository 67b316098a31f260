/// How a server speaks TLS: where its certificate and key are, the lowest protocol version it
/// accepts, whether it asks clients for certificates, and the secret its session-ticket keys
/// are derived from (all fronts of one server share it, so a ticket one front issued resumes on
/// any other).
public struct TLSSettings: Sendable, Equatable {
    /// The lowest protocol version accepted.
    public enum MinimumVersion: String, Sendable, CaseIterable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// PEM: the leaf certificate first, then its chain.
    public var certificateFile: String
    /// PEM private key; refused when group or others can read it.
    public var keyFile: String
    /// PEM CA certificates: clients are asked for a certificate and any they present must chain
    /// to one of these; its subject becomes `TLSStream.peerCertificateSubject`. nil: none asked.
    public var clientCAFile: String?
    public var minimumVersion: MinimumVersion
    /// Session-ticket keys are derived from this (HKDF-SHA256 with a label of their own, so it
    /// may be the session key). Empty: a random secret, tickets valid on this process only.
    public var ticketSecret: [UInt8]
    /// Ticket keys change every this many seconds; a ticket opens for two periods.
    public var ticketPeriodSeconds: UInt32

    public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil,
                minimumVersion: MinimumVersion = .tls12, ticketSecret: [UInt8] = [],
                ticketPeriodSeconds: UInt32 = 3600) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.minimumVersion = minimumVersion
        self.ticketSecret = ticketSecret
        self.ticketPeriodSeconds = ticketPeriodSeconds
    }
}

// The ticket secret stays out of logs and error messages.
extension TLSSettings: CustomStringConvertible {
    public var description: String {
        "TLSSettings(cert: \(certificateFile), key: \(keyFile), clientCA: \(clientCAFile ?? "none"), "
            + "min: \(minimumVersion.rawValue))"
    }
}
