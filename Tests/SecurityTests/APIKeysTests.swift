import Glibc
import XCTest
@testable import Security

/// API keys: format, the keys file (hashes only, mode 0600), lookups.
final class APIKeysTests: XCTestCase {
    var temp: TempDirectory!
    var dir: String { temp.path }

    override func setUp() { temp = TempDirectory() }
    override func tearDown() { temp.remove() }

    func testKeyFormat() throws {
        let key = try XCTUnwrap(APIKey.generate())
        XCTAssertTrue(key.hasPrefix("sy_"))
        XCTAssertEqual(key.utf8.count, 46)
        XCTAssertEqual(APIKey.decode(key)?.count, 32)
        XCTAssertNotEqual(key, APIKey.generate())
        XCTAssertEqual(APIKey.hash(key).utf8.count, 64)
        XCTAssertNil(APIKey.decode(key + "A"))
        XCTAssertNil(APIKey.decode("sy_" + String(repeating: "*", count: 43)))
    }

    func testRoundTripThroughTheFile() throws {
        let path = dir + "/keys.json"
        let key = try XCTUnwrap(APIKey.generate())
        try APIKeysFile.save([APIKeyRecord(name: "ci-bot", scopes: ["tools:call", "tools:read"], hash: APIKey.hash(key),
                                           created: 1_700_000_000)], to: path)
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let text = String(decoding: try ProtectedFile.read(path, what: "x"), as: UTF8.self)
        XCTAssertFalse(text.contains(key), "the file holds the hash, never the key")
        XCTAssertTrue(text.contains(APIKey.hash(key)))

        let store = try APIKeyStore(path: path)
        let principal = try store.authenticate(key).get()
        XCTAssertEqual(principal, Principal(subject: "ci-bot", scopes: ["tools:call", "tools:read"], method: .apiKey))
        XCTAssertEqual(try APIKeysFile.load(path).first?.created, 1_700_000_000)
    }

    func testUnknownAndTamperedKeys() throws {
        let path = dir + "/keys.json"
        let key = try XCTUnwrap(APIKey.generate())
        try APIKeysFile.save([APIKeyRecord(name: "a", scopes: [], hash: APIKey.hash(key), created: 1)], to: path)
        let store = try APIKeyStore(path: path)
        XCTAssertEqual(store.authenticate(try XCTUnwrap(APIKey.generate())).failureValue,
                       AuthFailure(.invalidToken, "unknown api key"))
        var chars = Array(key)
        chars[10] = chars[10] == "A" ? "B" : "A"
        XCTAssertEqual(store.authenticate(String(chars)).failureValue?.reason, "unknown api key")
        XCTAssertEqual(store.authenticate(String(key.dropLast())).failureValue?.reason, "malformed api key")
        XCTAssertNotNil(try? store.authenticate(key).get())
    }

    func testGroupOrWorldReadableFileIsRefused() throws {
        let path = dir + "/keys.json"
        try APIKeysFile.save([], to: path)
        XCTAssertNoThrow(try APIKeyStore(path: path))
        chmod(path, 0o640)
        XCTAssertThrowsError(try APIKeyStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains("readable by other users (mode 0640)"), "\(error)")
        }
        chmod(path, 0o604)
        XCTAssertThrowsError(try APIKeysFile.load(path))
    }

    func testDuplicateNamesAndBadEntriesAreRefused() throws {
        let path = dir + "/keys.json"
        let h = String(repeating: "ab", count: 32)
        for body in ["{\"keys\":[{\"name\":\"a\",\"scopes\":[],\"hash\":\"\(h)\",\"created\":1},"
                        + "{\"name\":\"a\",\"scopes\":[],\"hash\":\"\(h)\",\"created\":2}]}",
                     "{\"keys\":[{\"name\":\"a\",\"scopes\":[],\"hash\":\"xyz\",\"created\":1}]}",
                     "{\"keys\":[{\"name\":\"a\",\"scopes\":\"x\",\"hash\":\"\(h)\",\"created\":1}]}",
                     "[]"] {
            try ProtectedFile.write(Array(body.utf8), to: path, what: "test")
            XCTAssertThrowsError(try APIKeysFile.load(path), body)
        }
    }

    func testReloadSeesNewAndRevokedKeys() throws {
        let path = dir + "/keys.json"
        let first = try XCTUnwrap(APIKey.generate()), second = try XCTUnwrap(APIKey.generate())
        try APIKeysFile.save([APIKeyRecord(name: "one", scopes: [], hash: APIKey.hash(first), created: 1)], to: path)
        let store = try APIKeyStore(path: path)
        XCTAssertFalse(try store.reloadIfChanged())
        try APIKeysFile.save([APIKeyRecord(name: "two", scopes: [], hash: APIKey.hash(second), created: 2)], to: path)
        XCTAssertTrue(try store.reloadIfChanged())
        XCTAssertNil(try? store.authenticate(first).get())
        XCTAssertEqual(try store.authenticate(second).get().subject, "two")
    }
}
