import CSupport
import MCPCore
import WireProtocol

/// Who answers a call's client: the one object a call's replies go to, whatever happened on the
/// way (an executor answered, the call failed or timed out, a stale result was served).
/// Thread: the loop thread.
protocol CallResponder: AnyObject {
    /// The executor answered (a RESULT or ERROR frame, or a stale result as a RESULT).
    func answered(_ call: PendingCall, type: FrameType, payload: UnsafeRawBufferPointer,
                  chunk: UnsafeMutablePointer<sy_chunk_t>?)
    /// The call ends with an error of the front's (timeout, overload, lost executor, cancel).
    func failed(_ call: PendingCall, _ error: ProtocolError)
    /// A PROGRESS or NOTIFY frame of the call in flight.
    func event(_ call: PendingCall, type: FrameType, payload: [UInt8])
    /// A REQUEST frame: the call's tool asks the client something.
    func clientRequest(_ call: PendingCall, link: FrontLink, payload: [UInt8])
}

/// A tools/call between its request and its answer: where the answer goes, how it is framed,
/// and what is needed to send it again (retry on another executor).
///
/// Ownership: holds one reference on `argsChunk` (the client's read buffer holding the
/// arguments) until the call is answered and this object is released.
final class PendingCall {
    // Per-request state is `@exclusivity(unchecked)`, for the reason given in StreamConnection.
    /// What the call runs: a tool, a resource read, a prompt, a completion.
    @exclusivity(unchecked) var kind: CallPayload.Kind = .tool
    /// Where the call is in `CallRouter`'s list of calls in flight (-1: not in it).
    @exclusivity(unchecked) var inFlightIndex = -1
    /// The CALL meta: the context object of proto/executor-protocol.md (era, versions, _meta...).
    @exclusivity(unchecked) var context: [UInt8] = []
    /// The stateless revision (2026-07-28): results are stamped, closing the stream cancels.
    @exclusivity(unchecked) var modern = false
    /// Held strongly, not weakly: a weak reference gives the connection a side table, and every
    /// retain of it then takes the runtime's slow path. A closed connection stays an inert
    /// object until its calls end (each ends by its deadline at the latest).
    let connection: any AnswerChannel
    let slot: ResponseSlot
    /// The JSON-RPC id as sent by the client (with quotes for string ids).
    let idJSON: [UInt8]
    let format: AnswerFormat
    let tool: String
    /// The batch the call's request belongs to (its answer goes into the batch's array).
    let batch: BatchAnswer?
    let batchIndex: Int
    /// Writes every reply of this call to its client.
    unowned(unsafe) let responder: any CallResponder
    /// The handshake-era session that made the call: requests its tool makes of the client are
    /// bound to it (ClientRequests).
    @exclusivity(unchecked) var sessionId: String?
    /// Requests its tool made of the client (handshake era): the executor's `requestId` → the id
    /// the client got, so that the tool's withdrawal of one reaches the client under that id.
    /// nil until the first.
    @exclusivity(unchecked) var clientRequests: [String: String]?
    /// The caller's `Principal.bindingDigest` (0: anonymous): sealed request states and stale
    /// results are kept per principal.
    @exclusivity(unchecked) var owner: UInt64 = 0
    /// The client's `_meta.progressToken` as JSON, when it asked for progress.
    @exclusivity(unchecked) var progressToken: [UInt8]?
    /// The client accepts an SSE answer: notifications during the call upgrade it to a stream.
    @exclusivity(unchecked) var acceptsSSE = false
    /// Hash of session and request id (`CallRouter.cancelHashValue`), for
    /// `notifications/cancelled` (nil for stateless requests).
    @exclusivity(unchecked) var cancelKey: UInt64?
    /// Where a fresh result is cached (ResultCacheStage); nil when the tool has no TTL.
    @exclusivity(unchecked) var resultCache: ResultCacheTicket?
    /// The answer comes from the result cache: checked when it was kept, not again.
    @exclusivity(unchecked) var fromCache = false
    private let argsChunk: UnsafeMutablePointer<sy_chunk_t>?
    let arguments: UnsafeRawBufferPointer
    let startedAt: UInt64
    let deadline: UInt64
    /// Sends so far (1 after the first send; a retry makes it 2).
    @exclusivity(unchecked) var attempts = 0
    /// Where it is in flight, if it is.
    @exclusivity(unchecked) weak var link: FrontLink?
    @exclusivity(unchecked) var stream: UInt64 = 0
    @exclusivity(unchecked) private(set) var finished = false

    init(target: AnswerTarget, responder: any CallResponder, tool: String,
         arguments: UnsafeRawBufferPointer, argsChunk: UnsafeMutablePointer<sy_chunk_t>?,
         startedAt: UInt64, deadline: UInt64) {
        connection = target.connection
        slot = target.slot
        idJSON = target.id ?? Array("null".utf8)
        format = target.format
        batch = target.batch
        batchIndex = target.batchIndex
        self.responder = responder
        self.tool = tool
        self.arguments = arguments
        self.argsChunk = argsChunk
        if let argsChunk { sy_chunk_retain(argsChunk) }
        self.startedAt = startedAt
        self.deadline = deadline
    }

    /// Where the answer goes (nil once the connection is closed).
    var target: AnswerTarget? {
        connection.isClosed ? nil : AnswerTarget(slot: slot, connection: connection, id: idJSON, format: format,
                                                 batch: batch, batchIndex: batchIndex)
    }

    /// The chunk to reference when writing the arguments without a copy.
    var chunk: UnsafeMutablePointer<sy_chunk_t>? { argsChunk }

    /// Marks the call answered; returns false if it already was (an answer arrives once).
    func finish() -> Bool {
        if finished { return false }
        finished = true
        if modern { connection.modernCalls[ObjectIdentifier(self)] = nil }
        return true
    }

    /// A key for the stale-result cache: tool and argument bytes.
    var cacheKey: String {
        let key = tool + "\u{0}" + String(decoding: arguments, as: UTF8.self)
        return owner == 0 ? key : key + "\u{0}" + String(owner)
    }

    /// What a sealed `requestState` of this call is bound to: the call's kind and name, and its
    /// principal when there is one.
    static func stateSubject(kind: CallPayload.Kind, name: String, owner: UInt64) -> String {
        owner == 0 ? "\(kind.rawValue):\(name)" : "\(kind.rawValue):\(name):\(owner)"
    }

    deinit { if let argsChunk { sy_chunk_release(argsChunk) } }
}
