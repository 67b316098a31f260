import ArgumentParser
import FrontTier
import MCPCore
import ToolSDK

/// `--tool-cache-ttl` and `--result-cache-mb`: on `serve` (config keys `toolCacheTtl`,
/// `resultCacheMb`; forwarded to every front) and on `front`. README.md, "Result cache".
struct CacheOptions: ParsableArguments {
    @Option(name: .customLong("tool-cache-ttl"), help: ArgumentHelp("""
        Keep a tool's successful results fresh for MS milliseconds, NAME=MS (repeatable; overrides the \
        tool's own io.switchyard/cacheTtlMs). Only for tools annotated readOnlyHint and idempotentHint.
        """, valueName: "NAME=MS"))
    var toolCacheTtl: [String] = []

    @Option(help: "Memory of each front's result cache, MiB; 0 turns the cache off (default: 64).")
    var resultCacheMb: Int?

    /// For `serve`: every TTL checked before any child starts. A TTL on a built-in tool that is
    /// not annotated both read-only and idempotent is refused; one on a name no built-in pack
    /// serves is refused unless external executors may serve it (their fronts check the
    /// annotations when the catalog arrives, and ignore such a TTL with a warning).
    func frontArguments(config: ConfigFile, builtIn: ToolPack?, externalExecutors: Bool) throws -> [String] {
        var texts: [(text: String, option: String)] = []
        switch config.values["toolCacheTtl"] {
        case nil: break
        case .object(let o)?:
            for (name, v) in o.sorted(by: { $0.key < $1.key }) {
                guard case .number(let ms) = v, ms == ms.rounded(), ms >= 1 else {
                    throw ValidationError("config toolCacheTtl: '\(name)' must be a whole number of ms >= 1")
                }
                texts.append(("\(name)=\(JSONValue.formatNumber(ms))", "config toolCacheTtl"))
            }
        case .array(let a)?:
            for v in a {
                guard let s = v.stringValue else { throw ValidationError("config toolCacheTtl: entries are NAME=MS strings") }
                texts.append((s, "config toolCacheTtl"))
            }
        default:
            throw ValidationError("config toolCacheTtl: an object {\"NAME\": MS} or an array of \"NAME=MS\"")
        }
        texts += toolCacheTtl.map { ($0, "--tool-cache-ttl") }
        for (text, option) in texts {
            let (name, _) = try Self.parse(text, option: option)
            if let tool = builtIn?.tools.first(where: { $0.name == name }) {
                guard tool.annotations?.readOnlyHint == true, tool.annotations?.idempotentHint == true else {
                    throw ValidationError("\(option) \(text): tool '\(name)' is not annotated readOnlyHint and "
                                          + "idempotentHint, so its results may not be cached")
                }
            } else if !externalExecutors {
                throw ValidationError("\(option) \(text): no tool named '\(name)' is served")
            }
        }
        var argv: [String] = []
        for (text, _) in texts { argv += ["--tool-cache-ttl", text] }
        if let mb = try config.int(resultCacheMb, "resultCacheMb", 0...65_536) {
            argv += ["--result-cache-mb", String(mb)]
        }
        return argv
    }

    /// For `front`.
    func apply(to options: inout FrontOptions) throws {
        for text in toolCacheTtl {
            let (name, ms) = try Self.parse(text, option: "--tool-cache-ttl")
            options.toolCacheTtlMs[name] = ms
        }
        if let mb = resultCacheMb {
            guard (0...65_536).contains(mb) else { throw ValidationError("--result-cache-mb must be 0...65536") }
            options.resultCacheBytes = mb << 20
        }
    }

    /// `NAME=MS`, 1 ms to a day.
    static func parse(_ text: String, option: String) throws -> (String, UInt64) {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, let ms = UInt64(parts[1]), ms >= 1,
              ms <= FrontOptions.maxToolCacheTtlMs else {
            throw ValidationError("\(option) takes NAME=MS with MS 1...\(FrontOptions.maxToolCacheTtlMs), got '\(text)'")
        }
        return (String(parts[0]), ms)
    }
}
