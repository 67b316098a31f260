import CSupport
import MCPCore

/// `GET` on the endpoint (handshake era): the session's standalone SSE stream of list changes
/// and updates of subscribed resources. Resumes with `Last-Event-ID` (same front, within the
/// event store's limits; with Redis, on any host: SharedEventStore).
final class SessionStream {
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    /// `owner`: the caller's `Principal.bindingDigest` (0 when authentication is off).
    func handle(_ req: HTTPRequest, _ t: AnswerTarget, owner: UInt64) {
        guard let token = req.header(.mcpSessionId) else {
            s.writer.error(t, ProtocolError(.sessionNotFound, "Session not found"))
            return
        }
        // What the stream needs of the request, read now: a session idle on this host is asked
        // about through Redis, and the request's bytes are gone by the answer.
        let accepts = req.acceptFlags, lastEventId = req.header(.lastEventId)
        let connection = t.connection // held until the answer (the target does not hold it)
        s.sessions.use(token, askingHosts: { [s] session in
            guard !connection.isClosed else { return }
            guard let session else {
                s.writer.error(t, ProtocolError(.sessionNotFound, "Session not found"))
                return
            }
            self.open(session, t, owner: owner, accepts: accepts, lastEventId: lastEventId)
        })
    }

    private func open(_ session: SessionTokens.Session, _ t: AnswerTarget, owner: UInt64, accepts: Int32,
                      lastEventId: String?) {
        guard session.owner == owner else {
            s.writer.error(t, EraStage.notOwner)
            return
        }
        guard accepts & Int32(SY_ACCEPT_SSE | SY_ACCEPT_ANY | SY_ACCEPT_TEXT) != 0 else {
            s.writer.error(t, ProtocolError(.invalidRequest, "Not Acceptable: the stream is text/event-stream",
                                            httpStatus: 406))
            return
        }
        var filter = Listeners.Filter()
        filter.tools = true; filter.prompts = true; filter.resources = true
        filter.session = session.id
        s.writer.openStream(t.slot)
        if let fanOut = s.fanOut, fanOut.isActive, !s.listeners.holdsLocally(lastEventId, session: session.id) {
            // Redis: the stream's events come from the shared log, resumable on any host.
            let stream = s.listeners.openShared(connection: t.connection, slot: t.slot, filter: filter)
            fanOut.store.open(after: lastEventId.flatMap { SharedEventId($0) }) { [weak listeners = s.listeners] opening in
                listeners?.finishOpening(stream, opening)
            }
            return
        }
        let (stream, replay) = s.listeners.openResumable(connection: t.connection, slot: t.slot, filter: filter,
                                                         lastEventId: lastEventId)
        for e in replay { t.slot.appendEventChunk(e.json, id: s.listeners.eventId(stream, e.seq)) }
        // Priming: an id and a reconnection delay, after what is replayed so that ids only move
        // forward (a client that drops right after it resumes from the newest event).
        let priming = "id: \(s.listeners.eventId(stream, stream.seq))\nretry: 3000\ndata: \n\n"
        t.slot.append(.text(String(priming.utf8.count, radix: 16) + "\r\n" + priming + "\r\n"))
        t.connection.push(t.slot)
    }
}
