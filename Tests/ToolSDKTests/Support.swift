import MCPCore
@testable import ToolSDK
import WireProtocol
import XCTest

/// Collects the frames a running call sends (a fake link).
final class FakeLink: @unchecked Sendable {
    private let lock = Locked<[CallEvent]>([])
    var emit: @Sendable (CallEvent) -> Void { { [self] e in lock.withLock { $0.append(e) } } }
    var events: [CallEvent] { lock.withLock { $0 } }

    func payloads(_ pick: (CallEvent) -> [UInt8]?) -> [JSONValue] {
        events.compactMap(pick).map { try! JSONValue.parse($0) }
    }
    var progress: [JSONValue] { payloads { if case .progress(let p) = $0 { return p } else { return nil } } }
    var notifications: [JSONValue] { payloads { if case .notify(let p) = $0 { return p } else { return nil } } }
    var requests: [JSONValue] { payloads { if case .request(let p) = $0 { return p } else { return nil } } }
    var linkWide: [JSONValue] { payloads { if case .notifyAll(let p) = $0 { return p } else { return nil } } }
}

func json(_ s: String) -> JSONValue { try! JSONValue.parse(Array(s.utf8)) }

/// A CALL through the same entry point links use; returns the terminal frame type and its JSON.
func runCall(_ pack: ToolPack, kind: CallPayload.Kind, _ name: String, meta: JSONValue? = nil, args: String = "",
             link: FakeLink = FakeLink()) async -> (FrameType, JSONValue) {
    let call = CallPayload(kind: kind, name: name, meta: meta.map { Array($0.compactJSON().utf8) } ?? [],
                           arguments: Array(args.utf8))
    let (t, p) = await ExecutorLink.run(call, pack: pack, emit: link.emit)
    return (t, try! JSONValue.parse(p))
}

/// The CALL meta of a modern (2026-07-28) request.
func modernMeta(caps: String = #"{"sampling":{},"elicitation":{},"roots":{}}"#, logLevel: String? = nil,
                inputResponses: JSONValue? = nil, requestState: String? = nil, meta: JSONValue? = nil) -> JSONValue {
    CallContext(requestMeta: meta, era: .modern, protocolVersion: "2026-07-28", clientCapabilities: json(caps),
                logLevel: logLevel, inputResponses: inputResponses, requestState: requestState).json
}

func text(_ result: JSONValue) -> String? {
    guard case .array(let a)? = result["content"] else { return nil }
    return a.first?["text"]?.stringValue
}
