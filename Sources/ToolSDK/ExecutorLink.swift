import CLibUV
import EventLoop
import MCPCore
import Metrics
import WireProtocol

/// One front's connection to this executor: frames in, tasks out, results back.
/// Thread: the loop thread.
final class ExecutorLink: StreamDelegate {
    let id: Int
    unowned let runtime: ExecutorRuntime
    let conn: StreamConnection
    private var helloDone = false
    private var peerZstd = false
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    private var names: [UInt64: String] = [:]
    private var cancelled: Set<UInt64> = []
    var inFlight: Int { tasks.count }

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
        for t in tasks.values { t.cancel() }
        tasks.removeAll()
        names.removeAll()
        runtime.linkClosed(self)
    }

    private func protocolViolation(_ why: String) {
        runtime.log.warning("closing link", [("reason", why)])
        conn.close()
    }

    private func handle(_ h: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let type = h.type else { return } // unknown types are skipped
        var body: [UInt8]
        if h.isCompressed {
            do { body = try PayloadCompression.decompress(payload) } catch { protocolViolation("bad compressed payload"); return }
        } else {
            body = Array(payload)
        }
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
            guard helloDone, h.stream != 0 else { protocolViolation("CALL before HELLO or on stream 0"); return }
            let call: CallPayload
            do { call = try body.withUnsafeBytes { p throws(FrameError) in try CallPayload.decode(p) } } catch {
                protocolViolation("bad CALL payload"); return
            }
            start(call, stream: h.stream)
        case .cancel:
            if let t = tasks[h.stream] {
                cancelled.insert(h.stream)
                t.cancel()
                watchCancelled(h.stream, tool: names[h.stream] ?? "?")
            }
        case .ping:
            conn.writeFrame(.pong, stream: h.stream, payload: body)
        case .drain, .pong:
            break
        case .goodbye:
            conn.closeWhenFlushed()
        case .ready, .result, .error, .progress, .notify:
            protocolViolation("unexpected \(type) from a front")
        }
    }

    private func start(_ call: CallPayload, stream: UInt64) {
        // Calls that cross our DRAIN on the wire are still served: the front stops sending
        // once it reads the DRAIN, and nothing it sent before is lost.
        guard call.kind == CallPayload.Kind.tool.rawValue else {
            sendError(stream, ProtocolError(.methodNotFound, "this executor serves tools only"))
            return
        }
        let name = call.nameString
        guard let tool = runtime.tools[name] else {
            sendError(stream, ProtocolError(.invalidParams, "Unknown tool: \(name)"))
            return
        }
        let linkID = id
        let completions = runtime.completions
        let report: @Sendable (ToolCall.FrameKind, String) -> Void = { kind, json in
            completions.post(.init(link: linkID, stream: stream, type: kind == .progress ? .progress : .notify, payload: Array(json.utf8)))
        }
        let task = Task {
            let (type, payload) = await ExecutorLink.run(tool, call, report: report)
            completions.post(.init(link: linkID, stream: stream, type: type, payload: payload))
        }
        tasks[stream] = task
        names[stream] = name
    }

    /// After CANCEL, a task gets `cancelGraceMs` to finish; one that does not is wedged.
    private func watchCancelled(_ stream: UInt64, tool: String) {
        let t = Timer(loop: runtime.loop) { [weak self] in
            guard let self, self.tasks[stream] != nil else { return }
            self.runtime.wedged(tool: tool)
        }
        t.start(after: runtime.options.cancelGraceMs)
        t.unref()
    }

    /// Runs a handler and turns whatever happens into one terminal frame.
    static func run(_ tool: Tool, _ call: CallPayload,
                    report: @escaping @Sendable (ToolCall.FrameKind, String) -> Void = { _, _ in }) async -> (FrameType, [UInt8]) {
        var args: [String: JSONValue] = [:]
        if !call.arguments.isEmpty {
            guard case .object(let o)? = try? JSONValue.parse(call.arguments) else {
                return (.result, Array(ToolResult.error("arguments must be a JSON object").json.utf8))
            }
            args = o
        }
        if let problem = SchemaCheck.validate(args, against: tool.inputSchema) {
            return (.result, Array(ToolResult.error("Invalid arguments for tool \(tool.name): \(problem)").json.utf8))
        }
        let meta = call.meta.isEmpty ? nil : try? JSONValue.parse(call.meta)
        let started = uv_hrtime()
        let timer = Metrics.histogram(.toolExecutionSeconds, tool.name)
        defer { timer.observe(uv_hrtime() &- started) }
        do {
            let result = try await tool.handler(ToolCall(name: tool.name, arguments: args, meta: meta, report: report))
            if Task.isCancelled { return cancelledFrame() }
            return (.result, Array(result.json.utf8))
        } catch is CancellationError {
            return cancelledFrame()
        } catch let e as ToolError {
            return (.result, Array(ToolResult.error(e.message).json.utf8))
        } catch {
            return (.result, Array(ToolResult.error("\(tool.name) failed: \(error)").json.utf8))
        }
    }

    static func cancelledFrame() -> (FrameType, [UInt8]) {
        (.error, Array(ProtocolError(.requestCancelled, "request cancelled").errorObjectJSON.utf8))
    }

    func complete(_ c: ExecutorRuntime.Completion) {
        if !c.terminal {
            if tasks[c.stream] != nil { send(c.type, c.stream, c.payload) }
            return
        }
        guard tasks.removeValue(forKey: c.stream) != nil else { return }
        names[c.stream] = nil
        // A call cancelled but finished anyway still sends its one terminal frame (the result).
        cancelled.remove(c.stream)
        send(c.type, c.stream, c.payload)
        runtime.maybeFinishDrain()
    }

    private func send(_ type: FrameType, _ stream: UInt64, _ payload: [UInt8]) {
        if peerZstd && payload.count >= runtime.options.compressThreshold {
            let packed = payload.withUnsafeBytes { PayloadCompression.compress($0) }
            conn.writeFrame(type, stream: stream, payload: packed, compressed: true)
        } else {
            conn.writeFrame(type, stream: stream, payload: payload)
        }
    }

    private func sendError(_ stream: UInt64, _ e: ProtocolError) {
        send(.error, stream, Array(e.errorObjectJSON.utf8))
    }

    func sendDrain() { if helloDone { conn.writeFrame(.drain, stream: 0) } }

    func goodbye() {
        conn.writeFrame(.goodbye, stream: 0)
        conn.closeWhenFlushed()
    }
}
