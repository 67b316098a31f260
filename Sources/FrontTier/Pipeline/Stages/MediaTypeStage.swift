import MCPCore

/// A POST must send JSON (415 otherwise), send an Accept header that lists JSON or SSE answers
/// (406 otherwise, as the official SDKs answer a POST without one), and carry one well-formed
/// JSON-RPC message (400 with -32700/-32600).
/// Batches pass on to `EraStage`, which serves them only for sessions on 2025-03-26.
final class MediaTypeStage: RequestStage {
    let name = "media-type"
    private let writer: ResponseWriter

    init(writer: ResponseWriter) { self.writer = writer }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard r.http.contentTypeIsJSON else {
            writer.error(r.target, ProtocolError(.invalidRequest,
                                                 "Unsupported Media Type: Content-Type must be application/json",
                                                 httpStatus: 415))
            return .answered
        }
        guard r.acceptsJSON || r.acceptsSSE else {
            let why = "Not Acceptable: Accept must list application/json and text/event-stream"
            writer.error(r.target, ProtocolError(.invalidRequest, why, httpStatus: 406))
            return .answered
        }
        if let e = r.envelopeError {
            // JSON-RPC: an id that could not be detected in an invalid request is null.
            writer.error(AnswerTarget(slot: r.slot, connection: r.connection, id: nil, format: r.format), e)
            return .answered
        }
        return .proceed
    }
}
