import EventLoop
import Glibc
import Security

/// Builds what a front holds for rate limits and the audit log, from its options; failures
/// degrade with a warning instead of stopping the front.
enum LimitsAndAudit {
    /// The shared table `<run-dir>/ratelimits`; without it (cannot be created or mapped), a
    /// table of this front's own, so limits still hold per front.
    static func rateLimiter(options: FrontOptions, log: Log) -> RateLimiter? {
        guard !options.rateLimits.isEmpty else { return nil }
        let path = options.runDir + "/ratelimits"
        do {
            return try RateLimiter(path: path, rules: options.rateLimits)
        } catch {
            log.warning("rate limits: shared table unusable, limiting per front", [("error", "\(error)")])
            return RateLimiter(rules: options.rateLimits)
        }
    }

    /// Throws when the file cannot be opened: a server asked to audit does not serve unaudited.
    static func auditLog(options: FrontOptions, loop: Loop, log: Log) throws -> AuditLog? {
        guard let path = options.auditLogPath else { return nil }
        // A key of its own for argument digests, derived from the shared session key.
        let key = Array("switchyard audit arguments".utf8).withUnsafeBytes {
            AuditDigest.hmacSHA256(key: options.sessionKey, $0)
        }
        return try AuditLog(path: path, front: options.index, argumentsKey: key, loop: loop)
    }

    /// SIGUSR1: reopen after rotation; on failure the old file stays in use.
    static func reopen(_ audit: AuditLog?, log: Log) {
        guard let audit else { return }
        do {
            try audit.reopen()
            log.info("audit log reopened", [("path", audit.path)])
        } catch {
            log.error("cannot reopen the audit log; still writing to the previous file", [("error", "\(error)")])
        }
    }
}
