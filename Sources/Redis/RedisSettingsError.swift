/// A Redis option that cannot be used, with a message fit for a start-up error (never a secret).
public struct RedisSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
