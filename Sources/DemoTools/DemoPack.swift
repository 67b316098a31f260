import COpenSSL
import MCPCore
import ToolSDK

/// The built-in `demo` tool pack: small tools for trying the server and for load, timeout
/// and concurrency tests.
public enum DemoPack {
    public static var tools: [Tool] { [echo, addNumbers, sleepMs, sha256, whoami] }

    static func schema(_ props: [String: String], required: [String]) -> JSONValue {
        .object([
            "type": .string("object"),
            "properties": .object(props.mapValues { .object(["type": .string($0)]) }),
            "required": .array(required.map { .string($0) }),
        ])
    }

    /// How long the results of the pure tools (`add_numbers`, `sha256`: the same arguments give
    /// the same answer to anyone) stay fresh in the fronts' result cache. `echo` has none, so
    /// benchmarks on it measure the whole path.
    public static let pureResultTtlMs = 60_000

    static let readOnly = ToolAnnotations(readOnlyHint: true, destructiveHint: false, idempotentHint: true,
                                          openWorldHint: false)

    public static let echo = Tool.immediate(
        name: "echo", title: "Echo", description: "Returns the given text unchanged.",
        inputSchema: schema(["text": "string"], required: ["text"]), annotations: readOnly
    ) { call in
        // The text as it lies in the CALL frame goes into the RESULT frame as it is: a megabyte
        // of text is never made into a String, nor copied (ToolCall.argumentsView, ToolResult.text).
        guard let text = call.argument("text"), text.kind == .string else {
            throw ToolError("argument 'text' must be a string")
        }
        return .text(text)
    }

    public static let addNumbers = Tool.immediate(
        name: "add_numbers", title: "Add numbers", description: "Adds two numbers and returns the sum.",
        inputSchema: schema(["a": "number", "b": "number"], required: ["a", "b"]),
        outputSchema: schema(["sum": "number"], required: ["sum"]), annotations: readOnly, staleOnError: true,
        cacheTtlMs: pureResultTtlMs, cacheScope: .shared
    ) { call in
        let sum = try call.number("a") + call.number("b")
        return ToolResult(content: [.text(JSONValue.formatNumber(sum))],
                          structuredContent: .object(["sum": .number(sum)]))
    }

    /// Waits without holding a thread: for concurrency and timeout tests.
    public static let sleepMs = Tool(
        name: "sleep_ms", title: "Sleep",
        description: "Waits the given number of milliseconds (at most 600000), then answers.",
        inputSchema: schema(["ms": "number"], required: ["ms"]),
        // Not annotated read-only or idempotent: the fault-tolerance tests use it as the tool
        // whose lost calls must not be retried.
        annotations: ToolAnnotations(readOnlyHint: false, destructiveHint: false, idempotentHint: false,
                                     openWorldHint: false)
    ) { call in
        let ms = try call.number("ms")
        guard ms >= 0, ms <= 600_000 else { throw ToolError("ms must be between 0 and 600000") }
        if call.wantsProgress {
            // Ten steps, each reported, when the client asked for progress.
            for step in 1...10 {
                try await Task.sleep(nanoseconds: UInt64(ms * 100_000))
                call.progress(Double(step), total: 10, message: "slept \(step * 10)%")
            }
        } else {
            try await Task.sleep(nanoseconds: UInt64(ms * 1_000_000))
        }
        return .text("slept \(JSONValue.formatNumber(ms)) ms")
    }

    /// CPU-bound: hashes the text (repeated `rounds` times, default 1) with OpenSSL's SHA-256.
    public static let sha256 = Tool(
        name: "sha256", title: "SHA-256",
        description: "Returns the hex SHA-256 digest of the text; 'rounds' re-hashes the digest that many times "
            + "(CPU load).",
        inputSchema: .object([
            "type": .string("object"),
            "properties": .object(["text": .object(["type": .string("string")]),
                                   "rounds": .object(["type": .string("integer"), "minimum": .number(1),
                                                      "maximum": .number(1_000_000)])]),
            "required": .array([.string("text")]),
        ]),
        annotations: readOnly, staleOnError: true, cacheTtlMs: pureResultTtlMs, cacheScope: .shared
    ) { call in
        let text = try call.string("text")
        var rounds = 1
        if case .number(let r)? = call.arguments["rounds"] {
            guard r >= 1, r <= 1_000_000 else { throw ToolError("rounds must be between 1 and 1000000") }
            rounds = Int(r)
        }
        var digest = digestSHA256(Array(text.utf8))
        for _ in 1..<rounds { digest = digestSHA256(digest) }
        return .text(hex(digest))
    }

    /// Who called, as the front authenticated them: the call context's principal (README.md,
    /// "Security"). Anonymous when the server runs without authentication.
    public static let whoami = Tool.immediate(
        name: "whoami", title: "Who am I",
        description: "Returns the caller's identity as the server authenticated it (subject, client id, scopes).",
        inputSchema: .object(["type": .string("object"), "properties": .object([:])]),
        outputSchema: .object(["type": .string("object"),
                               "properties": .object(["subject": .object(["type": .string("string")]),
                                                      "auth": .object(["type": .string("string")])]),
                               "required": .array([.string("subject"), .string("auth")])]),
        annotations: readOnly
    ) { call in
        let p = call.principal
        var o: [String: JSONValue] = ["subject": .string(p?.subject ?? ""), "auth": .string(p?.auth ?? "anonymous"),
                                      "scopes": .array((p?.scopes ?? []).map(JSONValue.string))]
        if let c = p?.clientId { o["clientId"] = .string(c) }
        let value = JSONValue.object(o)
        return ToolResult(content: [.text(value.compactJSON())], structuredContent: value)
    }

    public static func digestSHA256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var len: UInt32 = 0
        bytes.withUnsafeBytes { b in
            _ = EVP_Digest(b.baseAddress, b.count, &out, &len, EVP_sha256(), nil)
        }
        return out
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var s = [UInt8]()
        s.reserveCapacity(bytes.count * 2)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return String(decoding: s, as: UTF8.self)
    }
}
