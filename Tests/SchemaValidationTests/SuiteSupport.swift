import Foundation
import MCPCore
import XCTest

/// Where the test data that is not committed lies: the official JSON-Schema-Test-Suite
/// (`make schema-suite` unpacks it from the pinned `jsonschema` sdist) and the differential
/// cases (`make schema-differential` has Python's `jsonschema` write them). `make test` sets
/// `SCHEMA_DATA_REQUIRED=1`: missing data then fails the test instead of skipping it.
enum SuiteSupport {
    static var required: Bool { ProcessInfo.processInfo.environment["SCHEMA_DATA_REQUIRED"] == "1" }

    /// The directory named by `variable`, else `fallback` under the package's .build, if it exists.
    static func path(_ variable: String, fallback: String) throws -> String {
        let env = ProcessInfo.processInfo.environment
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = env[variable] ?? root.appendingPathComponent(fallback).path
        if FileManager.default.fileExists(atPath: path) { return path }
        let why = "\(path) is missing: run `make schema-data` (or set \(variable))"
        if required { XCTFail(why); throw XCTSkip(why) }
        throw XCTSkip(why)
    }

    static func read(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
