import CSupport
import MCPCore
import WireProtocol
import XCTest

/// Frames written where they are sent from, and compression that is skipped when it does not pay.
final class OutgoingFrameTests: XCTestCase {
    func testQuotedTextMatchesJSONValueAndTheHeaderIsFilledIn() {
        let texts = ["", "plain", "a\"b\\c\n\r\t\u{1}\u{1f}é😀", String(repeating: "x", count: 100_000) + "\""]
        for t in texts {
            let frame = OutgoingFrame(capacity: 1)
            frame.appendQuoted(t)
            var expected: [UInt8] = []
            JSONValue.appendQuoted(t, to: &expected)
            XCTAssertEqual(frame.payload, expected)
            let pieces = frame.takePieces(rawType: FrameType.result.rawValue, stream: 7)
            XCTAssertEqual(pieces.count, 1)
            let wire = Array(pieces[0].bytes)
            XCTAssertEqual(Array(wire.dropFirst(FrameHeader.size)), expected)
            let parsed = wire.withUnsafeBytes { (try? FrameParser.next($0)) ?? nil }
            XCTAssertEqual(parsed?.header.stream, 7)
            XCTAssertEqual(parsed?.header.type, .result)
            for p in pieces { sy_chunk_release(p.chunk) }
        }
    }

    /// A large slice of a received frame goes out from where it lies, between the bytes
    /// written before and after it; the frame keeps it alive.
    func testABorrowedSliceIsSentInPlaceBetweenTheWrittenBytes() {
        let big = [UInt8](repeating: UInt8(ascii: "z"), count: OutgoingFrame.borrowThreshold + 10)
        var received: FrameBytes? = FrameBytes(Array("[".utf8) + big + Array("]".utf8))
        let frame = OutgoingFrame()
        frame.append("{\"a\":")
        frame.append(borrowing: received!, range: 1..<1 + big.count)
        frame.append("}")
        frame.append(borrowing: received!, range: 0..<1) // small: copied
        received = nil // the frame holds the bytes now
        let expected = Array("{\"a\":".utf8) + big + Array("}[".utf8)
        XCTAssertEqual(frame.payloadCount, expected.count)
        XCTAssertEqual(frame.payload, expected)
        let pieces = frame.takePieces(rawType: FrameType.result.rawValue, stream: 1)
        XCTAssertEqual(pieces.count, 3, "written, borrowed, written")
        XCTAssertEqual(pieces.flatMap { Array($0.bytes) }.dropFirst(FrameHeader.size).map { $0 }, expected)
        for p in pieces { sy_chunk_release(p.chunk) }
    }

    func testCompressionIsSkippedWhenItDoesNotPay() throws {
        var random = [UInt8](repeating: 0, count: 200_000)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        XCTAssertNil(random.withUnsafeBytes { PayloadCompression.compressIfWorthIt($0) })
        let text = Array(String(repeating: "{\"text\":\"hello\"},", count: 10_000).utf8)
        let packed = try XCTUnwrap(text.withUnsafeBytes { PayloadCompression.compressIfWorthIt($0) })
        XCTAssertLessThan(packed.count, text.count / 2)
        let back = try packed.withUnsafeBytes { try PayloadCompression.decompressed($0) }
        XCTAssertEqual(back.withUnsafeBytes { Array($0) }, text)
    }
}
