import FoundationEssentials
import WireProtocol
import XCTest

/// Every implementation must decode proto/vectors/ and re-encode them byte for byte.
final class GoldenVectorTests: XCTestCase {
    struct Vector: Decodable {
        var file: String
        var name: String
        var type: Int
        var flags: Int
        var stream: String
        var payloadHex: String
        var valid: Bool
        var error: String?
        var call: Call?
        var uncompressedHex: String?
        struct Call: Decodable { var kind: Int; var name: String; var meta: String; var arguments: String }
    }

    static let vectorsDir: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/proto/vectors"
    }()

    func load() throws -> [(Vector, [UInt8])] {
        let index = try Data(contentsOf: URL(fileURLWithPath: Self.vectorsDir + "/index.json"))
        let vectors = try JSONDecoder().decode([Vector].self, from: index)
        XCTAssertGreaterThan(vectors.count, 15)
        return try vectors.map { v in
            (v, [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.vectorsDir + "/" + v.file))))
        }
    }

    static func hex(_ s: String) -> [UInt8] {
        var out = [UInt8]()
        var it = s.utf8.makeIterator()
        while let h = it.next(), let l = it.next() {
            out.append(UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)!)
        }
        return out
    }

    func testValidVectorsDecodeAndReencodeByteForByte() throws {
        for (v, bytes) in try load() where v.valid {
            let frame = try bytes.withUnsafeBytes { try FrameParser.next($0) }
            let (h, range) = try XCTUnwrap(frame, v.file)
            XCTAssertEqual(Int(h.rawType), v.type, v.file)
            XCTAssertEqual(Int(h.flags), v.flags, v.file)
            XCTAssertEqual(String(h.stream), v.stream, v.file)
            XCTAssertEqual(range.upperBound, bytes.count, v.file)
            XCTAssertEqual(Array(bytes[range]), Self.hex(v.payloadHex), v.file)
            XCTAssertEqual(h.bytes + bytes[range], bytes, "re-encoded \(v.file)")
            if let c = v.call {
                let call = try bytes[range].withUnsafeBytes { try CallPayload.decode($0) }
                XCTAssertEqual(Int(call.kind), c.kind)
                XCTAssertEqual(call.nameString, c.name)
                XCTAssertEqual(String(decoding: call.meta, as: UTF8.self), c.meta)
                XCTAssertEqual(String(decoding: call.arguments, as: UTF8.self), c.arguments)
                XCTAssertEqual(try call.encoded(), Array(bytes[range]), "CALL payload re-encoded \(v.file)")
            }
            if let u = v.uncompressedHex {
                XCTAssertTrue(h.isCompressed)
                let plain = try bytes[range].withUnsafeBytes { try PayloadCompression.decompress($0) }
                XCTAssertEqual(plain, Self.hex(u), v.file)
            }
        }
    }

    func testInvalidVectorsAreRejectedWithTheirError() throws {
        var seen = 0
        for (v, bytes) in try load() where !v.valid {
            seen += 1
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try FrameParser.next($0) }, v.file) { e in
                XCTAssertEqual((e as? FrameError)?.vectorName, v.error, v.file)
            }
        }
        XCTAssertGreaterThanOrEqual(seen, 5)
    }

    /// The same stream fed all at once, one frame per buffer, and one byte at a time.
    func testStreamFeedingAllAtOnceAndByteByByte() throws {
        let valid = try load().filter { $0.0.valid }.map { $0.1 }
        let stream = valid.flatMap { $0 }
        XCTAssertEqual(try frames(in: [stream]), valid)
        XCTAssertEqual(try frames(in: valid), valid)
        XCTAssertEqual(try frames(in: stream.map { [$0] }), valid)
    }

    /// A minimal incremental reader: append pieces, cut frames as they complete.
    func frames(in pieces: [[UInt8]]) throws -> [[UInt8]] {
        var buffer: [UInt8] = []
        var out: [[UInt8]] = []
        for p in pieces {
            buffer += p
            while let f = try buffer.withUnsafeBytes({ try FrameParser.next($0) }) {
                out.append(Array(buffer[0..<f.payload.upperBound]))
                buffer.removeFirst(f.payload.upperBound)
            }
        }
        XCTAssertTrue(buffer.isEmpty)
        return out
    }

    func testCompressionRoundTripAndCorruption() throws {
        let text = Array(String(repeating: "{\"type\":\"text\",\"text\":\"hello\"},", count: 500).utf8)
        let packed = text.withUnsafeBytes { PayloadCompression.compress($0) }
        XCTAssertLessThan(packed.count, text.count / 5)
        XCTAssertEqual(try packed.withUnsafeBytes { try PayloadCompression.decompress($0) }, text)
        var broken = packed
        broken[broken.count / 2] ^= 0xFF
        broken[6] ^= 0xFF
        XCTAssertThrowsError(try broken.withUnsafeBytes { try PayloadCompression.decompress($0) })
        var lying = packed
        lying[3] &+= 1 // claims one byte more than the frame holds
        XCTAssertThrowsError(try lying.withUnsafeBytes { try PayloadCompression.decompress($0) })
        XCTAssertThrowsError(try packed.withUnsafeBytes { try PayloadCompression.decompress($0, maxSize: 100) })
    }

    func testCallPayloadRejectsOverflowingLengths() throws {
        var p = try CallPayload(kind: .tool, name: "echo", meta: [], arguments: Array("{}".utf8)).encoded()
        p[3] = 200 // name length beyond the payload
        XCTAssertThrowsError(try p.withUnsafeBytes { try CallPayload.decode($0) })
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 7).withUnsafeBytes { try CallPayload.decode($0) })
    }

    func testReadyRoundTripKeepsToolObjects() throws {
        let tool = Array(#"{"name":"echo","inputSchema":{"type":"object"}}"#.utf8)
        let r = Ready(executor: "x", pid: 7, zstd: false, maxConcurrency: 8, tools: [("echo", tool)])
        let back = try Ready.decode(r.encoded())
        XCTAssertEqual(back.executor, "x")
        XCTAssertEqual(back.pid, 7)
        XCTAssertFalse(back.zstd)
        XCTAssertEqual(back.tools.map(\.name), ["echo"])
    }
}
