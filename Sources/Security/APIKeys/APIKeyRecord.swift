import MCPCore

/// One entry of the API keys file: who the key is, what it may do, and the hash of the key.
public struct APIKeyRecord: Sendable, Equatable {
    /// The principal's subject; unique within a file.
    public let name: String
    public let scopes: [String]
    /// SHA-256 of the key, 64 lowercase hex characters.
    public let hash: String
    /// Unix seconds.
    public let created: UInt64

    public init(name: String, scopes: [String], hash: String, created: UInt64) {
        self.name = name
        self.scopes = scopes
        self.hash = hash
        self.created = created
    }

    var principal: Principal { Principal(subject: name, scopes: scopes, method: .apiKey) }

    var json: JSONValue {
        .object(["name": .string(name), "scopes": .array(scopes.map(JSONValue.string)), "hash": .string(hash),
                 "created": .number(Double(created))])
    }

    init?(json: JSONValue) {
        guard case .object(let o) = json, case .string(let name)? = o["name"], !name.isEmpty,
              case .array(let list)? = o["scopes"], case .string(let hash)? = o["hash"],
              hash.utf8.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              case .number(let created)? = o["created"], created >= 0, created < 1e15 else { return nil }
        let scopes = list.compactMap(\.stringValue)
        guard scopes.count == list.count else { return nil }
        self.init(name: name, scopes: scopes, hash: hash, created: UInt64(created))
    }
}
