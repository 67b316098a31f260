import EventLoop
import EventLoopTesting
import TLS

/// Collects what a stream delivers (consuming it all) and its close.
final class Recorder: ByteStreamDelegate {
    var received: [UInt8] = []
    var closedStatus: Int32?
    func streamReadable(_ stream: any ByteStream) {
        received += stream.readable
        stream.consume(stream.readable.count)
    }
    func streamClosed(_ stream: any ByteStream, status: Int32) { closedStatus = status }
    var text: String { String(decoding: received, as: UTF8.self) }
}

/// A TLS server and client over two in-memory streams on one manual loop; `pump()` carries the
/// bytes each side wrote to the other until neither has anything left to say.
final class TLSPair {
    let loop = ManualLoop()
    let serverWire: MemoryStream
    let clientWire: MemoryStream
    let server: TLSStream
    let client: TLSStream
    let serverSide = Recorder()
    let clientSide = Recorder()
    private var carried = (toClient: 0, toServer: 0)
    private var eofCarried = (toClient: false, toServer: false)

    init(server serverContext: TLSContext, client clientContext: TLSContext, maxReadLength: Int = .max,
         alpn: [String] = ["http/1.1"], session: TLSSession? = nil) {
        let turn = TLSTurn(pool: loop.pool, schedule: { [loop] in loop.enqueue($0) })
        serverWire = MemoryStream(loop: loop)
        clientWire = MemoryStream(loop: loop)
        serverWire.maxReadLength = maxReadLength
        clientWire.maxReadLength = maxReadLength
        server = TLSStream(transport: serverWire, context: serverContext, turn: turn)
        client = TLSStream(transport: clientWire, context: clientContext, turn: turn)
        server.delegate = serverSide
        client.delegate = clientSide
        server.startReading()
        client.startReading()
        if !alpn.isEmpty { client.offerProtocols(alpn) }
        if let session { client.resume(session) }
        client.connect()
        pump()
    }

    /// Sends raw bytes to the server as if from the client's socket.
    func sendRawToServer(_ bytes: [UInt8]) { serverWire.send(bytes); pump() }

    func pump() {
        for _ in 0..<1000 {
            loop.run()
            let toClient = Array(serverWire.written[carried.toClient...])
            let toServer = Array(clientWire.written[carried.toServer...])
            carried = (serverWire.written.count, clientWire.written.count)
            if !toClient.isEmpty && !clientWire.isClosing { clientWire.send(toClient) }
            if !toServer.isEmpty && !serverWire.isClosing { serverWire.send(toServer) }
            // A side whose socket closed: the other reads EOF after what was sent before it.
            var eof = false
            if serverWire.isClosed && !eofCarried.toClient { eofCarried.toClient = true; clientWire.sendEOF(); eof = true }
            if clientWire.isClosed && !eofCarried.toServer { eofCarried.toServer = true; serverWire.sendEOF(); eof = true }
            if toClient.isEmpty && toServer.isEmpty && !eof { return }
        }
        fatalError("the two sides kept talking")
    }
}
