import ArgumentParser
import FrontTier
import Glibc
import Security

/// `--rate-limit` and `--audit-log`: on `serve` (config keys `rateLimits`, `auditLog`;
/// forwarded to every front) and on `front`.
struct LimitsOptions: ParsableArguments {
    @Option(name: .customLong("rate-limit"), help: ArgumentHelp("""
        Rate limit per principal (anonymous clients: per source address) and tool, TOOL=N/s or TOOL=N/m \
        (burst N; * for every tool without its own rule; repeatable). Shared by all fronts.
        """, valueName: "rule"))
    var rateLimits: [String] = []

    @Option(help: ArgumentHelp("""
        Append a hash-chained JSON line per decision to this file (verify with `switchyard audit verify`; \
        SIGUSR1 to serve reopens it after rotation).
        """, valueName: "file"))
    var auditLog: String?

    /// For `serve`: the config file's rules, then the command line's (a later rule for a tool
    /// wins), validated now so a typo stops the server before any child starts; the audit log
    /// made absolute and opened once to fail early. Returns the arguments for each front.
    func frontArguments(config: ConfigFile) throws -> [String] {
        let fromConfig = config.strings("rateLimits") ?? []
        for text in fromConfig { _ = try Self.rule(text, option: "config rateLimits") }
        for text in rateLimits { _ = try Self.rule(text, option: "--rate-limit") }
        var argv: [String] = []
        for text in fromConfig + rateLimits { argv += ["--rate-limit", text] }
        if let given = auditLog ?? config.string("auditLog") {
            let path = Self.absolute(given)
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw ValidationError("--audit-log \(path): \(String(cString: strerror(errno)))")
            }
            close(fd)
            argv += ["--audit-log", path]
        }
        return argv
    }

    /// For `front`.
    func apply(to options: inout FrontOptions) throws {
        options.rateLimits = RateLimits(try rateLimits.map { try Self.rule($0, option: "--rate-limit") })
        options.auditLogPath = auditLog.map(Self.absolute)
    }

    private static func rule(_ text: String, option: String) throws -> RateLimitRule {
        do {
            return try RateLimitRule(parsing: text, option: option)
        } catch let e as RateLimitRuleError {
            throw ValidationError(e.description)
        }
    }

    /// Fronts may run elsewhere than the working directory the path was given in.
    private static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        return String(cString: buf) + "/" + path
    }
}
