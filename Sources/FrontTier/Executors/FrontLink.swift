import CSupport
import EventLoop
import MCPCore
import WireProtocol

/// What a link reports to its pool.
protocol FrontLinkOwner: AnyObject {
    func linkReady(_ link: FrontLink)
    func linkClosed(_ link: FrontLink, pending: [PendingCall])
    /// Capacity freed or the link started draining: queued calls may move.
    func linkChanged(_ link: FrontLink)
    func deliver(_ call: PendingCall, type: FrameType, payload: UnsafeRawBufferPointer,
                 chunk: UnsafeMutablePointer<sy_chunk_t>?)
    /// A PROGRESS or NOTIFY frame of a call still in flight.
    func event(_ call: PendingCall, type: FrameType, payload: [UInt8])
    /// A REQUEST frame: the executor needs the client to answer a request (legacy era).
    func clientRequest(_ call: PendingCall, link: FrontLink, payload: [UInt8])
    /// A NOTIFY on stream 0: a notification for every interested client.
    func linkNotification(_ link: FrontLink, payload: [UInt8])
    /// A CATALOG frame replaced the link's catalog (`before`: the one it had).
    func linkCatalogChanged(_ link: FrontLink, before: Catalog)
}

/// One front's link to one executor (proto/executor-protocol.md): HELLO/READY, CALL frames
/// out, RESULT/ERROR frames back to the waiting calls.
/// Thread: the loop thread.
final class FrontLink: StreamDelegate {
    let socketPath: String
    let conn: StreamConnection
    unowned let owner: any FrontLinkOwner
    // Per-request state is `@exclusivity(unchecked)`, for the reason given in StreamConnection.
    @exclusivity(unchecked) private(set) var ready: Ready?
    @exclusivity(unchecked) private(set) var draining = false
    @exclusivity(unchecked) private var pending: [UInt64: PendingCall] = [:]
    @exclusivity(unchecked) private var nextStream: UInt64 = 1
    let compressThreshold: Int
    private let log: Log
    /// Sheds calls to this executor while it keeps failing (timeouts, lost calls).
    @exclusivity(unchecked) var breaker = CircuitBreaker()

    var outstanding: Int { pending.count }
    var name: String { ready?.executor ?? socketPath }
    var isUsable: Bool { ready != nil && !draining && !conn.isClosed }
    var hasCapacity: Bool { pending.count < (ready?.maxConcurrency ?? 0) }
    /// Usable, with room, and its breaker not open: a call may be sent now.
    func canTake(now: UInt64) -> Bool { isUsable && hasCapacity && !breaker.isOpen(now: now) }

    let stats: LinkStats

    init(socketPath: String, conn: StreamConnection, owner: any FrontLinkOwner, peer: String,
         compressThreshold: Int, log: Log, stats: LinkStats) {
        self.stats = stats
        self.socketPath = socketPath
        self.conn = conn
        self.owner = owner
        self.compressThreshold = compressThreshold
        self.log = log
        conn.delegate = self
        conn.trafficClass = 2
        conn.readSize = 64 * 1024
        let hello = "{\"versions\":[1],\"peer\":\(JSONValue.quote(peer)),"
            + "\"maxFrame\":\(FrameHeader.maxPayload),\"zstd\":true}"
        conn.writeFrame(.hello, stream: 0, payload: Array(hello.utf8))
        conn.startReading()
    }

    /// Sends a tools/call. The arguments are referenced in the client's read buffer, not
    /// copied, unless the payload is large enough to compress. Throws, sending nothing and
    /// keeping nothing, when the name or the context is too long for the CALL's length fields.
    func send(_ call: PendingCall) throws(CallPayload.EncodeError) {
        try CallPayload.checkLengths(nameLength: call.tool.utf8.count, metaLength: call.context.count)
        let stream = nextStream
        nextStream &+= 1
        pending[stream] = call
        call.link = self
        call.stream = stream
        call.attempts += 1
        var name = call.tool
        let meta = call.context
        let nameLength = name.utf8.count
        let length = CallPayload.fixedSize + nameLength + meta.count + call.arguments.count
        if let r = ready, r.zstd, length >= compressThreshold {
            var payload = try CallPayload.prefix(kind: call.kind, nameLength: nameLength, metaLength: meta.count)
            payload += Array(name.utf8)
            payload += meta
            payload += call.arguments
            // Sent plain below when compression does not pay (random or compressed bytes).
            if let packed = payload.withUnsafeBytes({ PayloadCompression.compressIfWorthIt($0) }) {
                conn.writeFrame(.call, stream: stream, payload: packed, compressed: true)
                stats.sent(wire: packed.count, raw: length)
                return
            }
        }
        stats.sent(wire: length, raw: length)
        // Header and payload pieces go straight into the output queue: no array is built.
        withUnsafeTemporaryAllocation(byteCount: FrameHeader.size + CallPayload.fixedSize, alignment: 1) { b in
            FrameHeader(type: .call, stream: stream, length: length).encode(into: b.baseAddress!)
            // The lengths were checked above: this cannot throw.
            try? CallPayload.writePrefix(kind: call.kind, nameLength: nameLength, metaLength: meta.count,
                                         into: b.baseAddress! + FrameHeader.size)
            conn.write(UnsafeRawBufferPointer(b))
        }
        name.withUTF8 { conn.write(UnsafeRawBufferPointer($0)) }
        conn.write(meta)
        if let chunk = call.chunk {
            conn.write(chunk: chunk, bytes: call.arguments)
        } else {
            conn.write(call.arguments)
        }
    }

    /// Gives up on a call (timeout): the executor is told to stop it; its answer is ignored.
    func cancel(_ call: PendingCall) {
        guard pending.removeValue(forKey: call.stream) != nil else { return }
        conn.writeFrame(.cancel, stream: call.stream)
        afterCompletion()
    }

    func streamReadable(_ stream: StreamConnection) {
        let ok = stream.forEachFrame { header, payload in self.handle(header, payload) }
        if !ok {
            log.warning("malformed frame from executor; closing link", [("executor", name)])
            conn.close()
        }
    }

    private func handle(_ h: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        if h.extraType == .request, !h.isCompressed {
            if let call = pending[h.stream] {
                owner.clientRequest(call, link: self, payload: Array(payload))
            } else if let id = (try? JSONValue.parse(payload))?["requestId"] {
                respond(requestId: id.compactJSON(), member: "error",
                        json: ProtocolError(.internalError, "the call is gone").errorObjectJSON)
            }
            return
        }
        if h.extraType == .catalog {
            // Proto §5.11: the executor's whole catalog, from now on, for this link.
            guard ready != nil else { return }
            guard let body = (try? decompressed(h, payload)) ?? (h.isCompressed ? nil : Array(payload)),
                  let catalog = try? Catalog.decode(body) else {
                log.warning("bad CATALOG frame ignored", [("executor", name)])
                return
            }
            let before = ready!.catalog
            ready!.catalog = catalog
            owner.linkCatalogChanged(self, before: before)
            return
        }
        guard let type = h.type else { return }
        stats.received(wire: payload.count, raw: h.isCompressed && payload.count >= 4
            ? Int(payload[0]) << 24 | Int(payload[1]) << 16 | Int(payload[2]) << 8 | Int(payload[3]) : payload.count)
        switch type {
        case .ready:
            guard ready == nil else { return }
            do {
                let body = try decompressed(h, payload) ?? Array(payload)
                ready = try Ready.decode(body)
                owner.linkReady(self)
            } catch {
                log.warning("bad READY; closing link", [("socket", socketPath), ("error", "\(error)")])
                conn.close()
            }
        case .result, .error:
            guard let call = pending.removeValue(forKey: h.stream) else { return }
            if h.isCompressed {
                guard let body = try? decompressed(h, payload) else { conn.close(); return }
                body.withUnsafeBytes { owner.deliver(call, type: type, payload: $0, chunk: nil) }
            } else {
                owner.deliver(call, type: type, payload: payload, chunk: conn.readChunk)
            }
            afterCompletion()
        case .drain:
            if !draining {
                draining = true
                log.info("executor draining", [("executor", name), ("inFlight", String(pending.count))])
            }
            afterCompletion()
        case .goodbye:
            draining = true
            conn.closeWhenFlushed()
        case .ping:
            conn.writeFrame(.pong, stream: h.stream, payload: Array(payload))
        case .notify where h.stream == 0:
            // Link-wide: list changes, resource updates; every front gets one from each executor.
            guard let body = h.isCompressed ? (try? decompressed(h, payload)) ?? nil : Array(payload) else {
                conn.close()
                return
            }
            owner.linkNotification(self, payload: body)
        case .progress, .notify:
            guard let call = pending[h.stream] else { return }
            guard let body = h.isCompressed ? (try? decompressed(h, payload)) ?? nil : Array(payload) else {
                conn.close()
                return
            }
            owner.event(call, type: type, payload: body)
        case .pong:
            break
        case .hello, .call, .cancel:
            log.warning("unexpected frame from executor", [("type", "\(type)")])
        }
    }

    /// A draining executor is let go once its last call here is answered.
    private func afterCompletion() {
        if draining && pending.isEmpty && !conn.isClosed {
            goodbye()
        }
        owner.linkChanged(self)
    }

    private func decompressed(_ h: FrameHeader, _ payload: UnsafeRawBufferPointer) throws -> [UInt8]? {
        guard h.isCompressed else { return nil }
        return try PayloadCompression.decompress(payload)
    }

    /// Carries a client's answer to the executor (RESPONSE on stream 0: the executor matches
    /// the request id, whichever link it arrives on).
    func respond(requestId: String, member: String, json: String) {
        let payload = Array("{\"requestId\":\(requestId),\"\(member)\":\(json)}".utf8)
        conn.write(Frame.encode(.response, stream: 0, payload: payload))
    }

    func goodbye() {
        conn.writeFrame(.goodbye, stream: 0)
        conn.closeWhenFlushed()
    }

    func streamClosed(_ stream: StreamConnection, status: Int32) {
        let lost = Array(pending.values)
        pending.removeAll()
        owner.linkClosed(self, pending: lost)
    }
}
