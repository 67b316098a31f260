import WireProtocol
import XCTest

/// The CALL payload's length fields: a name of more than 65,535 bytes (16 bits) is refused at
/// encode with an error, never truncated into the field and never a trap; decode checks every
/// length against the payload and the name's UTF-8.
final class CallPayloadLengthTests: XCTestCase {
    func testTheLongestNameRoundTrips() throws {
        let name = String(repeating: "n", count: CallPayload.maxNameLength)
        let call = CallPayload(kind: .tool, name: name, meta: Array("{}".utf8), arguments: Array("{\"a\":1}".utf8))
        let bytes = try call.encoded()
        XCTAssertEqual(bytes[2], 0xFF)
        XCTAssertEqual(bytes[3], 0xFF)
        XCTAssertEqual(try bytes.withUnsafeBytes { try CallPayload.decode($0) }, call)
    }

    func testANameOneByteTooLongIsRefusedAtEncode() {
        let call = CallPayload(kind: .tool, name: String(repeating: "n", count: CallPayload.maxNameLength + 1))
        XCTAssertThrowsError(try call.encoded()) { error in
            XCTAssertEqual(error as? CallPayload.EncodeError, .nameTooLong(65_536))
            XCTAssertTrue("\(error)".contains("at most 65535 bytes"), "\(error)")
        }
        XCTAssertThrowsError(try CallPayload.prefix(kind: .tool, nameLength: 70_000, metaLength: 0))
        XCTAssertThrowsError(try CallPayload.checkLengths(nameLength: 0, metaLength: CallPayload.maxMetaLength + 1))
        XCTAssertNoThrow(try CallPayload.checkLengths(nameLength: 65_535, metaLength: CallPayload.maxMetaLength))
    }

    func testWritePrefixWritesNothingWhenALengthDoesNotFit() {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: CallPayload.fixedSize, alignment: 1)
        defer { out.deallocate() }
        out.initializeMemory(as: UInt8.self, repeating: 0xAA)
        XCTAssertThrowsError(try CallPayload.writePrefix(kind: .tool, nameLength: 65_536, metaLength: 2,
                                                         into: out.baseAddress!))
        XCTAssertEqual(Array(out), [UInt8](repeating: 0xAA, count: CallPayload.fixedSize))
    }

    func testDecodeChecksEveryLength() throws {
        let good = try CallPayload(kind: .tool, name: "echo", meta: Array("{}".utf8), arguments: []).encoded()
        XCTAssertNoThrow(try good.withUnsafeBytes { try CallPayload.decode($0) })
        var nameTooLong = good
        nameTooLong[2] = 0xFF
        nameTooLong[3] = 0xFF
        var metaTooLong = good
        metaTooLong[4] = 0xFF // 4 GiB of meta in a 14-byte payload
        var reserved = good
        reserved[1] = 1
        var notUTF8 = good
        notUTF8[CallPayload.fixedSize] = 0xC3 // a lead byte followed by 'c': not UTF-8
        for (what, bytes) in [("name length", nameTooLong), ("meta length", metaTooLong), ("reserved", reserved),
                              ("name UTF-8", notUTF8), ("short", Array(good.prefix(7)))] {
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try CallPayload.decode($0) }, what) { error in
                XCTAssertEqual(error as? FrameError, .badCallPayload, what)
            }
        }
    }
}
