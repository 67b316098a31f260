import ArgumentParser
import Glibc
import Security

/// `switchyard audit verify FILE`: checks the hash chains of an audit log.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit-log tools.",
        subcommands: [Verify.self]
    )

    /// `verify FILE...`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every hash chain of an audit log.",
            discussion: """
            Exit 0 when every chain holds, printing the number of lines and chains and each chain's \
            last hash (keep those elsewhere: a keyless chain cannot show lines cut from its end). \
            Exit 1 naming the first broken line and what happened to it: edited, deleted, reordered, \
            inserted, or malformed. A rotated file verifies on its own; given in order (oldest first), \
            files are also checked to continue one another.
            """
        )

        @Argument(help: "Audit log files, oldest first (e.g. audit.log.1 audit.log): each chain must continue from one file into the next.")
        var files: [String]

        func run() throws {
            var previous: [AuditVerifier.ChainSummary] = []
            for file in files {
                switch AuditVerifier.verify(try Self.readFile(file), after: previous) {
                case .success(let summary):
                    print("\(file): ok, \(summary.lines) line\(summary.lines == 1 ? "" : "s"), "
                          + "\(summary.chains.count) chain\(summary.chains.count == 1 ? "" : "s")")
                    for c in summary.chains {
                        print("  chain \(c.id): \(c.lines) lines, last seq \(c.lastSeq), last hash \(c.lastHash)")
                    }
                    previous += summary.chains
                case .failure(let failure):
                    print("\(file): \(failure)")
                    throw ExitCode(1)
                }
            }
        }

        static func readFile(_ path: String) throws -> [UInt8] {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ValidationError("\(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw ValidationError("\(path): \(String(cString: strerror(errno)))") }
                if n == 0 { return out }
                out += chunk[..<n]
            }
        }
    }
}
