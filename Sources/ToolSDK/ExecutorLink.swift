import CSupport
import EventLoop
import MCPCore
import WireProtocol

/// One front's connection to this executor: frames in, tasks out, results back.
/// Thread: the loop thread.
final class ExecutorLink: StreamDelegate {
    let id: Int
    unowned let runtime: ExecutorRuntime
    let conn: StreamConnection
    private var helloDone = false
    private var peerZstd = false
    /// A call in flight on this link, by stream.
    private struct Running {
        let task: Task<Void, Never>
        let tool: String
        /// Its cancellation key, when it has one (see `ExecutorRuntime.cancelKeys`).
        let cancelKey: String?
        /// After CANCEL: fires if the call is still running after the cancel grace; closed as
        /// soon as the call ends, so a cancellation leaves no handle behind.
        var cancelWatch: Timer? = nil
    }
    private var calls: [UInt64: Running] = [:]
    var inFlight: Int { calls.count }

    init(id: Int, runtime: ExecutorRuntime, conn: StreamConnection) {
        self.id = id
        self.runtime = runtime
        self.conn = conn
    }

    func streamReadable(_ stream: StreamConnection) {
        let ok = stream.forEachFrame { header, payload in self.handle(header, payload) }
        if !ok { protocolViolation("malformed frame") }
    }

    func streamClosed(_ stream: StreamConnection, status: Int32) {
        for c in calls.values {
            c.task.cancel()
            c.cancelWatch?.close()
            if let k = c.cancelKey { runtime.cancelKeys[k] = nil }
        }
        calls.removeAll()
        runtime.linkClosed(self)
    }

    private func protocolViolation(_ why: String) {
        runtime.log.warning("closing link", [("reason", why)])
        conn.close()
    }

    private func handle(_ h: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard h.type != nil || h.extraType != nil else { return } // unknown types are skipped
        if h.type == .call {
            // A CALL is kept as bytes its tool reads in place, on whatever thread it runs: a large
            // one stays in the chunk it was read into (the chunk leaves the read buffer), a small
            // one is copied once (its chunk goes on serving the link's next reads).
            let bytes: FrameBytes
            if h.isCompressed {
                do { bytes = try PayloadCompression.decompressed(payload) } catch {
                    protocolViolation("bad compressed payload")
                    return
                }
            } else if payload.count >= Self.keepInPlaceSize {
                bytes = conn.keepFrame(payload)
            } else {
                bytes = FrameBytes(copying: payload)
            }
            call(h, bytes)
            return
        }
        if h.isCompressed {
            let body: [UInt8]
            do { body = try PayloadCompression.decompress(payload) } catch {
                protocolViolation("bad compressed payload")
                return
            }
            body.withUnsafeBytes { handle(h, body: $0) }
        } else {
            handle(h, body: payload) // not copied: a CALL copies only its parts, once
        }
    }

    /// `body`: the (decompressed) payload, valid during the call only.
    private func handle(_ h: FrameHeader, body: UnsafeRawBufferPointer) {
        if let extra = h.extraType {
            // A RESPONSE is matched by its requestId alone: the client's answer may reach a
            // front other than the one that sent the call, which forwards it on stream 0.
            if extra == .response, helloDone { InputBroker.shared.deliver(Array(body)) }
            return // REQUEST and CATALOG from a front: wrong direction, ignored
        }
        guard let type = h.type else { return }
        switch type {
        case .hello:
            guard !helloDone else { protocolViolation("second HELLO"); return }
            guard let hello = try? JSONValue.parse(body),
                  case .array(let versions)? = hello["versions"],
                  versions.contains(.number(1)) else {
                let err = ProtocolError(.invalidRequest, "no common protocol version", dataJSON: "{\"supported\":[1]}")
                conn.writeFrame(.error, stream: 0, payload: Array(err.errorObjectJSON.utf8))
                conn.writeFrame(.goodbye, stream: 0)
                conn.closeWhenFlushed()
                return
            }
            if case .bool(let z)? = hello["zstd"] { peerZstd = z }
            helloDone = true
            conn.writeFrame(.ready, stream: 0, payload: runtime.readyPayload)
        case .call:
            break // see `call`
        case .cancel:
            if h.stream == 0 {
                // A client's cancellation that reached another front: matched by its key.
                if let key = (try? JSONValue.parse(body))?["cancelKey"]?.stringValue { runtime.cancel(key: key) }
            } else {
                cancelStream(h.stream)
            }
        case .ping:
            conn.writeFrame(.pong, stream: h.stream, payload: Array(body))
        case .drain, .pong:
            break
        case .goodbye:
            conn.closeWhenFlushed()
        case .ready, .result, .error, .progress, .notify:
            protocolViolation("unexpected \(type) from a front")
        }
    }

    /// CALL payloads at least this large are kept in the chunk they were read into.
    static let keepInPlaceSize = 64 * 1024
    /// RESULT payloads at least this large are queued from their own buffer, not copied.
    static let queueInPlaceSize = 16 * 1024

    private func call(_ h: FrameHeader, _ bytes: FrameBytes) {
        guard helloDone, h.stream != 0 else { protocolViolation("CALL before HELLO or on stream 0"); return }
        let call: CallView
        do { call = try CallView(bytes) } catch {
            protocolViolation("bad CALL payload"); return
        }
        start(call, stream: h.stream)
    }

    private func start(_ call: CallView, stream: UInt64) {
        // Calls that cross our DRAIN on the wire are still served: the front stops sending
        // once it reads the DRAIN, and nothing it sent before is lost.
        let linkID = id
        let completions = runtime.completions
        let index = runtime.index
        let emit: @Sendable (CallEvent) -> Void = { event in
            completions.post(ExecutorRuntime.Completion(link: linkID, stream: stream, event: event))
        }
        // Decoded here, once, for the cancel key; a context that does not decode is answered
        // by the runner (which decodes again to say why).
        let context = try? CallContext.decode(call.metaBytes)
        let body: @Sendable () async -> Void = {
            let (type, payload) = await CallRunner.run(call, decoded: context, index: index, emit: emit)
            completions.post(.init(link: linkID, stream: stream, rawType: type.rawValue, result: payload))
        }
        let name = call.nameString
        // One lookup by name serves both questions (may it run on the loop, and how).
        let entry = call.knownKind == .tool ? index.toolEntries[name] : nil
        let onLoop = entry?.tool.nonBlocking == true
            && call.arguments.count + call.meta.count <= Self.onLoopArgumentLimit
        if onLoop, let context, let entry, entry.tool.availableIn.includes(context.era),
           let immediate = entry.tool.immediateHandler {
            runImmediate(entry, immediate, call, context: context, stream: stream)
            return
        }
        // On the loop, the task starts at once on this thread: a handler that never suspends
        // finishes here, with no job queued and no second trip through the loop. Its result
        // reaches `complete` through the mailbox, after `calls[stream]` below is set.
        let task = onLoop ? Task.immediate(executorPreference: runtime.loopExecutor, operation: body)
                          : Task(operation: body)
        let key = context?.cancelKey
        calls[stream] = Running(task: task, tool: name, cancelKey: key)
        if let key { runtime.cancelKeys[key] = (id, stream) }
    }

    /// The stream of the immediate call running now (0: none). Its events are sent as they
    /// come, ahead of its result.
    private var immediateStream: UInt64 = 0

    /// An immediate tool's call, run to its result now: no task, no trip through the mailbox,
    /// nothing kept in `calls` (nothing can cancel it before it ends).
    private func runImmediate(_ entry: PackIndex.ToolEntry, _ handler: @escaping Tool.ImmediateHandler,
                              _ call: CallView, context: CallContext, stream: UInt64) {
        let here = LoopOnly(link: self, linkID: id, loop: runtime.loop, completions: runtime.completions)
        let emit: CallRunner.Emit = { event in
            let c = ExecutorRuntime.Completion(link: here.linkID, stream: stream, event: event)
            // During the handler, on this thread: at once, so everything goes out ahead of the
            // result, as on the task path (a catalog change before its list_changed answer).
            // Later or from elsewhere (a handler that kept `emit`): the mailbox, which drops
            // a finished call's events (fronts never reuse a stream id).
            if here.loop.isCurrentThread, let link = here.link, link.immediateStream == stream {
                if c.link == 0 { link.runtime.linkWide(c) } else { link.send(c.rawType, stream, c.payload) }
            } else {
                here.completions.post(c)
            }
        }
        immediateStream = stream
        defer { immediateStream = 0 }
        let (type, payload) = CallRunner.runImmediate(entry.tool, handler, call, context: context,
                                                      timer: entry.executionTimer, schema: entry.schema, emit: emit)
        switch payload {
        case .bytes(let b): send(type.rawValue, stream, b)
        case .frame(let f): send(type.rawValue, stream, f)
        }
    }

    /// Calls of non-blocking tools run on the loop thread only below this size of arguments and
    /// meta together: decoding large ones is work enough to belong on the worker pool.
    static let onLoopArgumentLimit = 16_384

    /// Cancels one of this link's calls; it still sends its one terminal frame.
    func cancelStream(_ stream: UInt64) {
        guard let c = calls[stream] else { return }
        c.task.cancel()
        // A second CANCEL for the same call does not add a second watch.
        if c.cancelWatch == nil { calls[stream]?.cancelWatch = watchCancelled(stream, tool: c.tool) }
    }

    /// After CANCEL, a task gets `cancelGraceMs` to finish; one that does not is wedged. The
    /// timer is one-shot and closed by `complete` when the call ends first.
    private func watchCancelled(_ stream: UInt64, tool: String) -> Timer {
        Timer.once(loop: runtime.loop, after: runtime.options.cancelGraceMs, unref: true) { [weak self] in
            guard let self, self.calls[stream] != nil else { return }
            self.runtime.wedged(tool: tool)
        }
    }

    /// Runs one tool call (legacy context unless the meta says otherwise) to its terminal frame.
    static func run(_ tool: Tool, _ call: CallPayload,
                    emit: @escaping @Sendable (CallEvent) -> Void = { _ in }) async -> (FrameType, [UInt8]) {
        guard let context = try? CallContext.decode(call.meta) else {
            return CallRunner.failure(.invalidParams("meta must be a JSON object"))
        }
        guard let view = try? CallView(call) else { return CallRunner.failure(.invalidParams("bad CALL payload")) }
        let (type, payload) = await CallRunner.runTool(tool, view, context: context, emit: emit)
        return (type, payload.bytes)
    }

    /// Runs a CALL of any kind against `pack`, exactly as a link does, to its terminal frame.
    static func run(_ call: CallPayload, pack: ToolPack,
                    emit: @escaping @Sendable (CallEvent) -> Void = { _ in }) async -> (FrameType, [UInt8]) {
        guard let view = try? CallView(call) else { return CallRunner.failure(.invalidParams("bad CALL payload")) }
        let (type, payload) = await CallRunner.run(view, index: PackIndex(pack), emit: emit)
        return (type, payload.bytes)
    }

    static func cancelledFrame() -> (FrameType, [UInt8]) { CallRunner.cancelledFrame() }

    /// A frame of one of this link's calls (a call's frames go to the link that sent it).
    func complete(_ c: ExecutorRuntime.Completion) {
        if !c.terminal {
            if calls[c.stream] != nil { send(c.rawType, c.stream, c.payload) }
            return
        }
        guard let running = calls.removeValue(forKey: c.stream) else { return }
        running.cancelWatch?.close()
        if let k = running.cancelKey { runtime.cancelKeys[k] = nil }
        // A call cancelled but finished anyway still sends its one terminal frame (the result).
        if let frame = c.frame { send(c.rawType, c.stream, frame) } else { send(c.rawType, c.stream, c.payload) }
        runtime.maybeFinishDrain()
    }

    /// A link-wide frame (NOTIFY or CATALOG on stream 0), once the link is past its handshake.
    func sendLinkWide(_ rawType: UInt8, _ payload: [UInt8]) {
        if helloDone && !conn.isClosed { send(rawType, 0, payload) }
    }

    private func send(_ rawType: UInt8, _ stream: UInt64, _ payload: [UInt8]) {
        if peerZstd && payload.count >= runtime.options.compressThreshold,
           let packed = payload.withUnsafeBytes({ PayloadCompression.compressIfWorthIt($0) }) {
            conn.write(Frame.encode(rawType: rawType, stream: stream, payload: packed, compressed: true))
        } else {
            conn.write(FrameHeader(rawType: rawType, flags: 0, stream: stream, length: UInt32(payload.count)).bytes)
            conn.write(payload)
        }
    }

    /// Sends a frame written in place: its chunk goes into the output queue as it is (header
    /// filled in), no copy; compressed instead when the peer takes zstd, the payload is over the
    /// threshold and compression pays.
    private func send(_ rawType: UInt8, _ stream: UInt64, _ frame: OutgoingFrame) {
        if peerZstd && frame.payloadCount >= runtime.options.compressThreshold,
           let packed = frame.withPayload({ PayloadCompression.compressIfWorthIt($0) }) {
            conn.write(Frame.encode(rawType: rawType, stream: stream, payload: packed, compressed: true))
            return
        }
        if frame.isContiguous && frame.payloadCount < Self.queueInPlaceSize {
            // Small: copied beside the link's other output (one writev buffer for many frames).
            frame.withFrame(rawType: rawType, stream: stream) { conn.write($0) }
            return
        }
        for (chunk, bytes) in frame.takePieces(rawType: rawType, stream: stream) {
            conn.write(chunk: chunk, bytes: bytes) // the queue retains each chunk until written
            sy_chunk_release(chunk)
        }
    }

    func sendDrain() { if helloDone { conn.writeFrame(.drain, stream: 0) } }

    func goodbye() {
        conn.writeFrame(.goodbye, stream: 0)
        conn.closeWhenFlushed()
    }
}

/// What an immediate call's `emit` needs, sendable because it touches the link only after
/// checking it runs on the link's loop thread.
private struct LoopOnly: @unchecked Sendable {
    weak var link: ExecutorLink?
    let linkID: Int
    let loop: Loop
    let completions: Mailbox<ExecutorRuntime.Completion>
}
