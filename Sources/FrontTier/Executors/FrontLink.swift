import CSupport
import EventLoop
import MCPCore
import WireProtocol

/// What a link reports to its pool.
protocol FrontLinkOwner: AnyObject {
    func linkReady(_ link: FrontLink)
    func linkClosed(_ link: FrontLink, pending: [PendingCall])
    func deliver(_ call: PendingCall, type: FrameType, payload: UnsafeRawBufferPointer,
                 chunk: UnsafeMutablePointer<sy_chunk_t>?)
}

/// One front's link to one executor (proto/executor-protocol.md): HELLO/READY, CALL frames
/// out, RESULT/ERROR frames back to the waiting HTTP answers.
/// Thread: the loop thread.
final class FrontLink: StreamDelegate {
    let socketPath: String
    let conn: StreamConnection
    unowned let owner: any FrontLinkOwner
    private(set) var ready: Ready?
    private(set) var draining = false
    private var pending: [UInt64: PendingCall] = [:]
    private var nextStream: UInt64 = 1
    let compressThreshold: Int
    private let log: Log

    var outstanding: Int { pending.count }
    var name: String { ready?.executor ?? socketPath }
    var isUsable: Bool { ready != nil && !draining && !conn.isClosed }

    init(socketPath: String, conn: StreamConnection, owner: any FrontLinkOwner, peer: String,
         compressThreshold: Int, log: Log) {
        self.socketPath = socketPath
        self.conn = conn
        self.owner = owner
        self.compressThreshold = compressThreshold
        self.log = log
        conn.delegate = self
        conn.readSize = 64 * 1024
        let hello = "{\"versions\":[1],\"peer\":\(JSONValue.quote(peer)),\"maxFrame\":\(FrameHeader.maxPayload),\"zstd\":true}"
        conn.writeFrame(.hello, stream: 0, payload: Array(hello.utf8))
        conn.startReading()
    }

    /// Sends a tools/call. The arguments are referenced in `argsChunk`, not copied, unless the
    /// payload is large enough to compress.
    func send(_ call: PendingCall, name: UnsafeRawBufferPointer, meta: [UInt8],
              arguments: UnsafeRawBufferPointer, argsChunk: UnsafeMutablePointer<sy_chunk_t>) {
        let stream = nextStream
        nextStream &+= 1
        pending[stream] = call
        let prefix = CallPayload.prefix(kind: .tool, nameLength: name.count, metaLength: meta.count)
        let length = prefix.count + name.count + meta.count + arguments.count
        if let r = ready, r.zstd, length >= compressThreshold {
            var payload = prefix
            payload += name
            payload += meta
            payload += arguments
            let packed = payload.withUnsafeBytes { PayloadCompression.compress($0) }
            conn.writeFrame(.call, stream: stream, payload: packed, compressed: true)
            return
        }
        conn.write(FrameHeader(type: .call, stream: stream, length: length).bytes + prefix)
        conn.write(name)
        conn.write(meta)
        conn.write(chunk: argsChunk, bytes: arguments)
    }

    func streamReadable(_ stream: StreamConnection) {
        let ok = stream.forEachFrame { header, payload in self.handle(header, payload) }
        if !ok {
            log.warning("malformed frame from executor; closing link", [("executor", name)])
            conn.close()
        }
    }

    private func handle(_ h: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        guard let type = h.type else { return }
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
        case .drain:
            draining = true
        case .goodbye:
            draining = true
            conn.closeWhenFlushed()
        case .ping:
            conn.writeFrame(.pong, stream: h.stream, payload: Array(payload))
        case .progress, .notify, .pong:
            break // carried to clients by a later revision of the front
        case .hello, .call, .cancel:
            log.warning("unexpected frame from executor", [("type", "\(type)")])
        }
    }

    private func decompressed(_ h: FrameHeader, _ payload: UnsafeRawBufferPointer) throws -> [UInt8]? {
        guard h.isCompressed else { return nil }
        return try PayloadCompression.decompress(payload)
    }

    func cancel(stream: UInt64) { conn.writeFrame(.cancel, stream: stream) }

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
