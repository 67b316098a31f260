import Foundation
import TLS
import XCTest

/// Building a context from bad files: the error names the file and OpenSSL's reason, never a
/// byte of the key.
final class TLSContextErrorTests: XCTestCase {
    let certs = TestCertificates.shared

    func settings(cert: String? = nil, key: String? = nil) -> TLSSettings {
        TLSSettings(certificateFile: cert ?? certs.serverCert, keyFile: key ?? certs.serverKey)
    }

    func error(_ s: TLSSettings) -> String {
        do {
            _ = try TLSContext.server(s)
            XCTFail("accepted \(s)")
            return ""
        } catch { return error.message }
    }

    func keyText() throws -> String { try String(contentsOfFile: certs.serverKey, encoding: .utf8) }

    func testKeyReadableByOthersIsRefused() throws {
        let copy = certs.path("shared.key")
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: certs.serverKey, toPath: copy)
        chmod(copy, 0o644)
        let message = error(settings(key: copy))
        XCTAssertTrue(message.contains(copy) && message.contains("readable by other users") && message.contains("0644"),
                      message)
    }

    func testKeyThatDoesNotMatchTheCertificateNamesTheKeyFile() throws {
        let message = error(settings(key: certs.clientKey))
        XCTAssertTrue(message.contains(certs.clientKey), message)
        XCTAssertTrue(message.lowercased().contains("mismatch") || message.contains("does not match"), message)
        let keyBody = try String(contentsOfFile: certs.clientKey, encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }
        for line in keyBody { XCTAssertFalse(message.contains(line), "key material in the message") }
    }

    func testGarbageCertificateNamesTheFileAndReason() throws {
        let bad = certs.path("garbage.pem")
        try "not a certificate\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let message = error(settings(cert: bad))
        XCTAssertTrue(message.hasPrefix("certificate file \(bad): "), message)
        XCTAssertGreaterThan(message.count, "certificate file \(bad): ".count + 3)
    }

    func testMissingKeyFileNamesIt() {
        let message = error(settings(key: certs.path("absent.key")))
        XCTAssertTrue(message.contains(certs.path("absent.key")), message)
    }

    func testDescriptionOfSettingsHidesTheTicketSecret() {
        var s = settings()
        s.ticketSecret = Array("supersecretvalue".utf8)
        XCTAssertFalse(String(describing: s).contains("supersecretvalue"))
        XCTAssertFalse(String(describing: s).contains("115"), "no byte list either")
    }
}
