/// Whose bucket a request draws from: an authenticated principal (its binding key, so two
/// tokens of one subject share a bucket), or for anonymous clients their source address.
public struct RateLimitKey: Sendable, Hashable, CustomStringConvertible {
    /// `p:<method>\0<subject>` or `a:<address>`: the two kinds can never collide.
    public let text: String

    public init(principal: Principal, sourceAddress: String?) {
        if principal.isAnonymous {
            text = "a:" + (sourceAddress ?? "")
        } else {
            text = "p:" + principal.bindingKey
        }
    }

    public var description: String { text }
}

/// What a rate-limit check decided.
public enum RateLimitDecision: Sendable, Equatable {
    case allowed
    /// Over the limit: one token is back after this many seconds (rounded up, at least 1), the
    /// value of `Retry-After`.
    case limited(retryAfterSeconds: Int)
}
