/// The answers of a JSON-RPC batch (2025-03-26 sessions), collected in member order and written
/// as one JSON array once every member has answered; notifications and client answers add
/// nothing, and a batch of only those is answered 202 (2025-03-26 transport). Members answer
/// through ResponseWriter, which hands their messages here.
/// Thread: the loop thread.
final class BatchAnswer {
    private let target: AnswerTarget
    private unowned(unsafe) let writer: ResponseWriter
    private var messages: [[UInt8]?]
    private var pending: Int

    init(target: AnswerTarget, writer: ResponseWriter, members: Int) {
        self.target = target
        self.writer = writer
        messages = Array(repeating: nil, count: members)
        pending = members
    }

    /// Member `index` answered with `message` (nil: it needs no answer). Each member answers once.
    func answer(_ index: Int, _ message: [UInt8]?) {
        guard index < messages.count, pending > 0 else { return }
        messages[index] = message
        pending -= 1
        guard pending == 0 else { return }
        let answers = messages.compactMap { $0 }
        if answers.isEmpty {
            writer.accepted(target)
            return
        }
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (i, m) in answers.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body += m
        }
        body.append(UInt8(ascii: "]"))
        writer.message(target, status: 200, body, extra: [])
    }
}
