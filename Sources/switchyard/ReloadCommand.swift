import ArgumentParser
import Glibc

/// `switchyard reload`: ask a running `serve` to replace its executors one at a time.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Rolling restart of a running server's executors (the same as sending SIGHUP to `serve`).",
        discussion: "New executors start from the binary and tool commands as they are now; each old one drains "
            + "and exits once its replacement is linked. No call fails. With --tls, the fronts read their TLS "
            + "certificate and key again instead (SIGUSR2): new connections get the new certificate, open ones "
            + "keep theirs, and a file that does not load is logged and the current certificate kept."
    )

    @Option(help: "The server's run directory (its --run-dir).") var runDir: String
    @Flag(help: "Reload the fronts' TLS certificate and key (SIGUSR2) instead of restarting executors.")
    var tls = false

    func run() throws {
        let path = runDir + "/supervisor.pid"
        guard let f = fopen(path, "r") else {
            throw ValidationError("no running server at \(runDir) (no supervisor.pid)")
        }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 32)
        guard fgets(&buf, 32, f) != nil, let pid = Int32(String(cString: buf).trimmingWhitespace()), pid > 0 else {
            throw ValidationError("unreadable \(path)")
        }
        guard kill(pid, tls ? SIGUSR2 : SIGHUP) == 0 else { throw ValidationError("cannot signal supervisor \(pid)") }
        print("switchyard: \(tls ? "TLS certificate reload" : "reload") requested (supervisor \(pid))")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        func space(_ c: Character) -> Bool { c == " " || c == "\n" }
        return String(self.drop(while: space).reversed().drop(while: space).reversed())
    }
}
