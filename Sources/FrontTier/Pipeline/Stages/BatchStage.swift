import CSupport
import MCPCore

/// A JSON-RPC batch (a 2025-03-26 session's POST; EraStage refuses it elsewhere): each member
/// runs through the rest of the pipeline as a request of its own, and `BatchAnswer` writes their
/// answers as one array. An empty batch, one over `maxMembers`, or one holding `initialize` is an
/// invalid request (JSON-RPC 2.0 §6; 2025-03-26 lifecycle).
final class BatchStage: RequestStage {
    let name = "batch"
    static let maxMembers = 64
    private let services: FrontServices
    private let methods: MethodTable
    /// The pipeline the members continue in, after this stage. Set once by the owner.
    unowned(unsafe) var pipeline: RequestPipeline?

    init(services: FrontServices, methods: MethodTable) {
        self.services = services
        self.methods = methods
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard r.envelope.isBatch, let pipeline else { return .proceed }
        let writer = services.writer
        var spans = [sy_span_t](repeating: sy_span_t(), count: Self.maxMembers)
        let body = r.body
        let n = spans.withUnsafeMutableBufferPointer { out in
            sy_json_array_elements(body.baseAddress!.assumingMemoryBound(to: UInt8.self), body.count,
                                   out.baseAddress!, Self.maxMembers)
        }
        guard n > 0 else {
            let why = n == 0 ? "an empty batch" : "a batch of more than \(Self.maxMembers) messages"
            writer.error(r.target, ProtocolError(.invalidRequest, "Invalid Request: \(why)"))
            return .answered
        }
        let batch = BatchAnswer(target: r.target, writer: writer, members: Int(n))
        let next = (pipeline.stages.firstIndex { $0 === self } ?? 0) + 1
        for i in 0..<Int(n) {
            let span = spans[i]
            let message = UnsafeRawBufferPointer(rebasing: body[Int(span.off)..<Int(span.off + span.len)])
            var member = FrontRequest(http: r.http, slot: r.slot, connection: r.connection,
                                      preferSSE: false, methods: methods, message: message, batch: batch, index: i)
            member.era = r.era
            member.session = r.session
            member.principal = r.principal
            if let note = r.audit, let log = services.auditLog {
                member.audit = AuditStage.memberNote(member, of: note, key: log.argumentsKey)
            }
            if let e = member.envelopeError ?? (member.envelope.isObject ? nil : ProtocolError(
                .invalidRequest, "Invalid Request: a batch member must be a JSON-RPC object")) {
                writer.error(AnswerTarget(slot: r.slot, connection: r.connection, id: nil, format: .json,
                                          batch: batch, batchIndex: i), e)
                continue
            }
            if member.methodIndex != nil && member.methodIndex == methods.index(of: "initialize") {
                writer.error(member.target, ProtocolError(.invalidRequest,
                                                          "Invalid Request: initialize cannot be batched"))
                continue
            }
            pipeline.run(&member, from: next)
        }
        return .answered
    }
}
