import CSupport

/// A tools/call waiting for its executor: where the answer goes and how it is framed.
final class PendingCall {
    weak var connection: HTTPConnection?
    let slot: ResponseSlot
    /// The JSON-RPC id as sent by the client (with quotes for string ids).
    let idJSON: [UInt8]
    let format: AnswerFormat
    let sessionID: String?
    let tool: String
    let startedAt: UInt64

    init(connection: HTTPConnection, slot: ResponseSlot, idJSON: [UInt8], format: AnswerFormat,
         sessionID: String?, tool: String, startedAt: UInt64) {
        self.connection = connection
        self.slot = slot
        self.idJSON = idJSON
        self.format = format
        self.sessionID = sessionID
        self.tool = tool
        self.startedAt = startedAt
    }
}
