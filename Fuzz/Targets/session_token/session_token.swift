// Session ids and sealed request states (SessionTokens): tokens of any bytes, and mutations of
// real ones, against a fixed key. Only the exact string issued verifies (one spelling per
// session, so a DELETE cannot be sidestepped), issue then verify on another front's instance
// gives the session back, an ended session stays ended, idle expiry holds, and seal/unseal
// round-trips only for its own subject.
@testable import FrontTier
import FuzzSupport
import MCPCore

private let key = [UInt8](repeating: 0x5A, count: 32)
private let versions = ProtocolVersion.supported
/// Bytes that keep a mutated token close to the format.
private let tokens = ["v1.", ".", "A", "_", "-", "=", "v2.", "AAAA", "\u{0}", "é"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSessionToken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let issuer = SessionTokens(key: key, versions: versions, idleTimeout: 3600)
    let verifier = SessionTokens(key: key, versions: versions, idleTimeout: 3600)
    switch input.below(4) {
    case 0:
        // Raw bytes: never a session (the fuzzer cannot forge the tag).
        let text = String(decoding: input.rest(), as: UTF8.self)
        require(verifier.verify(text) == nil, "a forged token verified: \(text.debugDescription)")
        _ = verifier.use(text, now: 1_000)
    case 1:
        // A real token, mutated: verifies only when the mutations gave back the same string.
        let version = input.pick(versions)
        let now = input.uint32()
        let session = issuer.issue(protocolVersion: version, capabilities: input.byte(), now: now)
        let mutated = String(decoding: mutate(Array(session.id.utf8), &input, count: 1 + input.below(4),
                                              tokens: tokens), as: UTF8.self)
        if let s = verifier.verify(mutated) {
            require(mutated == session.id, "a respelled token verified: \(mutated.debugDescription)")
            require(s == session, "verified as another session")
        }
    case 2:
        // Round trip, idle expiry and revocation.
        let version = input.pick(versions)
        let capabilities = input.byte()
        let now = input.uint32()
        let session = issuer.issue(protocolVersion: version, capabilities: capabilities, now: now)
        require(session.id.utf8.count <= 128, "a token longer than verify takes")
        let s = verifier.verify(session.id)
        require(s == session, "issued \(session), verified \(String(describing: s))")
        require(s?.capabilitiesJSON == session.capabilitiesJSON, "capabilities changed")
        let later = UInt64(now) + UInt64(input.below(7200))
        let used = verifier.use(session.id, now: later)
        require((used != nil) == (later - UInt64(now) <= 3600), "idle expiry wrong at +\(later - UInt64(now)) s")
        verifier.revoke(session.id)
        require(verifier.verify(session.id) == nil, "a revoked session verified")
        require(verifier.use(session.id, now: UInt64(now)) == nil, "a revoked session was used")
    default:
        // Sealed request states: round trip for the same subject only; tampering refused.
        let state = String(decoding: input.bytes(max: 200), as: UTF8.self)
        let subject = String(decoding: input.bytes(max: 40), as: UTF8.self)
        let sealed = issuer.seal(state, subject: subject)
        require(verifier.unseal(sealed, subject: subject) == state, "unseal lost the state")
        require(verifier.unseal(sealed, subject: subject + "x") == nil, "unsealed for another subject")
        let mutated = String(decoding: mutate(Array(sealed.utf8), &input, count: 1 + input.below(4), tokens: tokens),
                             as: UTF8.self)
        if let opened = verifier.unseal(mutated, subject: subject) {
            require(mutated == sealed && opened == state, "a tampered state unsealed: \(mutated.debugDescription)")
        }
        _ = verifier.unseal(String(decoding: input.rest(), as: UTF8.self), subject: subject)
    }
    return 0
}
