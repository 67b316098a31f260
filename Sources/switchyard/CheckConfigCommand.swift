import ArgumentParser
import MCPCore

/// `switchyard check-config FILE`: everything `serve --config FILE` would check (unknown keys,
/// file permissions, every value, the session key, certificates, keys files, policy, JWKS
/// file, rate-limit rules), without starting anything; prints the effective configuration with
/// secrets redacted. Errors name the key or option and the problem.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a serve config file and print the effective configuration (secrets redacted).",
        discussion: "Exit 0 with the configuration as JSON on stdout; exit 64 naming the key and the problem."
    )

    @Argument(help: "The JSON config file, as `serve --config` takes it.") var file: String

    func run() throws {
        let plan = try ServeCommand.parse(["--config", file]).plan()
        var o: [String: JSONValue] = [
            "host": .string(plan.host), "port": .number(Double(plan.port)),
            "url": .string("\(plan.scheme)://\(plan.host):\(plan.port)/mcp"),
            "fronts": .number(Double(plan.frontCount)),
            "executors": .array(plan.executors.map { e in
                .object(["name": .string(e.name), "argv": .array(e.argv.map(JSONValue.string))])
            }),
            "runDir": .string(plan.runDir ?? "(a new private directory under /tmp)"),
            // Never the key: where it comes from.
            "sessionKey": .string("(redacted; from \(plan.sessionKeySource))"),
            "restart": .object(["intensity": .number(Double(plan.restartPolicy.intensity)),
                                "periodMs": .number(Double(plan.restartPolicy.periodMs)),
                                "maxDelayMs": .number(Double(plan.restartPolicy.maxDelayMs))]),
            "heartbeatIntervalMs": .number(Double(plan.heartbeatIntervalMs)),
            "heartbeatTimeoutMs": .number(Double(plan.heartbeatTimeoutMs)),
            "front": .object(Self.options(plan.frontArguments)),
        ]
        if !plan.upstreams.isEmpty {
            // The environment's names only: its values may be secrets.
            o["upstreams"] = .array(plan.upstreams.map { u in
                var e: [String: JSONValue] = ["name": .string(u.name), "pool": .number(Double(u.pool)),
                                              "maxConcurrency": .number(Double(u.maxConcurrency)),
                                              "timeoutMs": .number(Double(u.timeoutMs)), "prefix": .string(u.prefix),
                                              "mode": .string(u.mode.rawValue),
                                              "env": .array(u.environment.keys.sorted().map(JSONValue.string))]
                if let url = u.url {
                    e["url"] = .string(url)
                    e["headers"] = .array(u.headers.keys.sorted().map(JSONValue.string)) // names only
                    if let ca = u.caFile { e["caFile"] = .string(ca) }
                } else { e["argv"] = .array(u.argv.map(JSONValue.string)) }
                return .object(e)
            })
        }
        if let f = plan.logFormat { o["logFormat"] = .string(f) }
        // Without the password.
        if let r = plan.redis { o["redis"] = .string(r.redacted) }
        if let rss = plan.executorMaxRSS { o["executorMaxRssMb"] = .number(Double(rss / (1024 * 1024))) }
        print(JSONValue.object(o).compactJSON())
    }

    /// `--max-body 5 --prefer-sse --rate-limit a --rate-limit b` as
    /// `{"maxBody":5,"preferSse":true,"rateLimit":["a","b"]}`. Repeatable options are arrays.
    static func options(_ argv: [String]) -> [String: JSONValue] {
        let repeatable: Set = ["tool-timeout", "rate-limit", "allow-origin", "tool-cache-ttl"]
        var out: [String: JSONValue] = [:]
        var i = 0
        while i < argv.count {
            let name = String(argv[i].dropFirst(2))
            let key = camelCase(name)
            let hasValue = i + 1 < argv.count && !argv[i + 1].hasPrefix("--")
            let value: JSONValue = !hasValue ? .bool(true)
                : Double(argv[i + 1]).map(JSONValue.number) ?? .string(argv[i + 1])
            if repeatable.contains(name) {
                if case .array(let a)? = out[key] { out[key] = .array(a + [value]) } else { out[key] = .array([value]) }
            } else {
                out[key] = value
            }
            i += hasValue ? 2 : 1
        }
        return out
    }

    static func camelCase(_ option: String) -> String {
        let parts = option.split(separator: "-")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }
}
