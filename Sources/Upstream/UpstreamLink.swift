import EventLoop
import MCPCore
import ToolSDK

/// What the pack's handlers (any thread) use to reach the bridge's pool (its loop thread):
/// a mailbox of commands, and the wait for a call's events. The handler side of one call:
/// progress and log messages are passed to the client, server-to-client requests are asked of
/// the client through the SDK's input API (a REQUEST frame in the legacy era, an input-required
/// result in the modern one) and their answers sent back to the copy.
final class UpstreamLink: Sendable {
    let name: String
    private let mailbox: Mailbox<UpstreamCommand>
    private let ids = Locked(0)

    init(name: String, mailbox: Mailbox<UpstreamCommand>) {
        self.name = name
        self.mailbox = mailbox
    }

    /// Sends `method` with `params` to a copy and returns its result; throws RequestError for a
    /// JSON-RPC error (the copy's own or the bridge's), CancellationError when the task is
    /// cancelled, and whatever the input API throws (InputRequired in the modern era).
    func forward(_ method: String, _ params: JSONValue, handle: some RequestHandle,
                 retryable: Bool) async throws -> JSONValue {
        let id = ids.withLock { $0 += 1; return $0 }
        let (events, sink) = AsyncStream.makeStream(of: UpstreamEvent.self)
        let request = UpstreamCall.Request(id: id, method: method, params: params, wantsProgress: handle.wantsProgress,
                                           retryable: retryable, session: handle.request.context.session,
                                           deliver: { event in
                                               sink.yield(event)
                                               if case .finished = event { sink.finish() }
                                           })
        mailbox.post(.submit(request))
        var finished = false
        // Any way out but the answer (cancellation, InputRequired) abandons the call on its copy.
        defer { if !finished { mailbox.post(.cancel(callID: id)) } }
        var asked = 0
        // Legacy era: the clients being asked, by token. Each waits in a task of its own, so the
        // copy's other messages (its answer, a withdrawal, progress) go on meanwhile; what is
        // still waiting when the call ends is abandoned.
        var asking: [Int: Task<Void, Never>] = [:]
        defer { for task in asking.values { task.cancel() } }
        return try await withTaskCancellationHandler {
            for await event in events {
                switch event {
                case .progress(let p, let total, let message):
                    handle.progress(p, total: total, message: message)
                case .log(let level, let data, let logger):
                    handle.log(level, data, logger: logger)
                case .serverRequest(let token, let method, let params):
                    asked += 1
                    let input = InputRequest(key: "upstream-\(asked)", method: method, params: params)
                    guard handle.era == .legacy else {
                        // Never waits: the answer is in the retry's inputResponses, or InputRequired
                        // ends this round of the call.
                        mailbox.post(.answer(callID: id, token: token, try await Self.ask(input, handle)))
                        continue
                    }
                    asking[token] = Task { [mailbox] in
                        // Cancelled (withdrawn, or the call ended): no answer goes to the copy.
                        guard let answer = try? await Self.ask(input, handle) else { return }
                        mailbox.post(.answer(callID: id, token: token, answer))
                    }
                case .withdrawn(let token):
                    asking.removeValue(forKey: token)?.cancel()
                case .finished(let outcome):
                    finished = true
                    switch outcome {
                    case .success(let value): return value
                    case .failure(let f): throw RequestError(code: f.code, message: f.message, data: f.data)
                    }
                }
            }
            throw CancellationError()
        } onCancel: { [mailbox] in
            mailbox.post(.cancel(callID: id))
        }
    }

    /// The client's answer to one server request, as the copy should get it. A client that
    /// cannot or will not answer gets the copy a JSON-RPC error; cancellation and the modern
    /// era's InputRequired end the call.
    private static func ask(_ input: InputRequest, _ handle: some RequestHandle) async throws -> JSONRPCLines.Outcome {
        do {
            return .result(try await handle.inputs([input])[input.key] ?? .null)
        } catch let e as ClientRequestFailed {
            return .error(code: e.code, message: e.message, data: nil)
        } catch let e as MissingClientCapability {
            let names = e.capabilities.map(\.rawValue).joined(separator: ", ")
            return .error(code: -32601, message: "the client does not support \(names)", data: nil)
        }
    }
}
