/// The commands every new connection sends before it serves: they log in, pick the database,
/// and prove the server answers (PING) or is the master (ROLE).
enum Handshake {
    /// AUTH [username] password, when a password is configured. `ignoringRefusal`: a Sentinel
    /// without a password of its own answers an error that does not matter.
    static func login(_ settings: RedisSettings, ignoringRefusal: Bool = false) -> [HandshakeStep] {
        guard let password = settings.password else { return [] }
        var command = [Array("AUTH".utf8)]
        if let username = settings.username { command.append(Array(username.utf8)) }
        command.append(Array(password.utf8))
        return [HandshakeStep(command: command) { reply in
            guard !ignoringRefusal, let message = reply.errorMessage else { return nil }
            // The server's text never contains the password.
            return "AUTH refused: \(message)"
        }]
    }

    static func select(_ database: Int) -> [HandshakeStep] {
        guard database != 0 else { return [] }
        return [HandshakeStep(command: [Array("SELECT".utf8), Array(String(database).utf8)]) { reply in
            reply.errorMessage.map { "SELECT \(database) refused: \($0)" }
        }]
    }

    static let ping = HandshakeStep(command: [Array("PING".utf8)]) { reply in
        reply.errorMessage.map { "PING refused: \($0)" }
    }

    /// The server must be a master: after a failover the old one comes back as a replica.
    static let roleMaster = HandshakeStep(command: [Array("ROLE".utf8)]) { reply in
        if let message = reply.errorMessage { return "ROLE refused: \(message)" }
        guard case .array(let items) = reply, let role = items.first?.string else { return "ROLE: unexpected reply" }
        return role == "master" ? nil : "the server is a \(role), not the master"
    }
}
