import EventLoop
import Supervisor
import XCTest

/// Children started with pipes on their stdio (`ChildSpec.standardIO = .pipes`, as upstream MCP
/// copies are) leave no handle behind once they have exited and their pipes are closed: 50
/// copies of `cat` each echo a line back, then see end of file on stdin and exit; a program that
/// does not exist fails to spawn without leaking its pipes.
final class ChildPipesHandleTests: XCTestCase {
    final class Echo: EventLoop.StreamDelegate {
        var received: [UInt8] = []
        /// stdout reached end of file and closed: everything the child wrote was read.
        var ended = false
        func streamReadable(_ stream: StreamConnection) {
            received += stream.readable
            stream.consume(stream.readable.count)
        }
        func streamClosed(_ stream: StreamConnection, status: Int32) { ended = true }
    }

    func testPipedChildrenLeaveNoHandle() throws {
        let loop = Loop()
        let guardTimer = watchdog(loop, seconds: 60)
        let before = loop.openHandles
        var spec = ChildSpec(name: "cat", role: .executor, argv: ["/bin/cat"])
        spec.standardIO = .pipes
        var exited = 0
        var echoes: [Echo] = []
        var children: [ChildProcess] = []
        for i in 0..<50 {
            let child = ChildProcess(spec: spec, loop: loop)
            let echo = Echo()
            echoes.append(echo)
            // The exit can be reported before the last bytes on stdout are read: stdout closes
            // itself at end of file (Echo.ended), the others are closed here.
            child.onExit = { c, status, _ in
                XCTAssertEqual(status, 0)
                for s in [c.stdin, c.stderr] { s?.close() }
                exited += 1
            }
            try child.spawn()
            child.stdout?.delegate = echo
            child.stdout?.startReading()
            child.stdin?.write(Array("line \(i)\n".utf8))
            child.stdin?.closeWhenFlushed()
            children.append(child)
        }
        var missing = ChildSpec(name: "missing", role: .executor, argv: ["/nonexistent/program-x7"])
        missing.standardIO = .pipes
        XCTAssertThrowsError(try ChildProcess(spec: missing, loop: loop).spawn())
        let stopper = EventLoop.Timer(loop: loop) {
            if exited == 50 && echoes.allSatisfy({ $0.ended }) { loop.stop() }
        }
        stopper.start(after: 10, repeat: 10)
        loop.run()
        stopper.close()
        for (i, e) in echoes.enumerated() { XCTAssertEqual(String(decoding: e.received, as: UTF8.self), "line \(i)\n") }
        children.removeAll()
        guardTimer.close()
        loop.run()
        XCTAssertEqual(loop.openHandles, before - 1, "piped children left handles")
    }
}
