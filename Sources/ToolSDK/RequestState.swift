import MCPCore

/// The opaque `requestState` of an input-required result: base64url (no padding) of compact
/// JSON `{"v":1,"for":SUBJECT,"state":{...},"answers":{...}}`. `state` is the handler's own
/// dictionary; `answers` are the inputs it already received in earlier rounds (a client only
/// sends the answers to the latest round, and handlers run from the top each round). `for`
/// binds it to one tool, prompt or resource. The front HMAC-wraps it before it leaves the
/// server, so what arrives here has been verified; the checks below catch misrouted state.
struct RequestState: Equatable {
    static let version = 1
    var subject: String
    var state: [String: JSONValue]
    var answers: [String: JSONValue]

    func encoded() -> String {
        let json = JSONValue.object(["v": .number(Double(RequestState.version)), "for": .string(subject),
                                     "state": .object(state), "answers": .object(answers)]).compactJSON()
        return Base64URL.encode(Array(json.utf8))
    }

    static func decode(_ s: String, subject: String) throws(RequestError) -> RequestState {
        guard let bytes = Base64URL.decode(s), case .object(let o)? = try? JSONValue.parse(bytes),
              o["v"] == .number(Double(version)), case .string(let f)? = o["for"],
              case .object(let state)? = o["state"], case .object(let answers)? = o["answers"] else {
            throw .invalidParams("invalid requestState")
        }
        guard f == subject else { throw .invalidParams("requestState belongs to another request") }
        return RequestState(subject: f, state: state, answers: answers)
    }
}
