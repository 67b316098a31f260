import ArgumentParser
import CSupport
import Glibc
import Upstream

/// `switchyard upstream`: the bridge executor of one upstream MCP server (started by `serve`
/// for each `--upstream`). The upstream's spec comes as JSON in SWITCHYARD_UPSTREAM, not in
/// argv, since its `env` may hold secrets.
struct UpstreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream",
        abstract: "Run the bridge executor of one upstream MCP server (started by serve for each --upstream).",
        discussion: "Reads the upstream's spec (JSON) from $SWITCHYARD_UPSTREAM; listens like any executor."
    )

    @Option(help: "Unix socket to listen on (default: $SWITCHYARD_SOCKET).") var socket: String?
    @Option(help: "Name reported to fronts.") var name: String?

    func run() throws {
        guard let path = socket ?? getenv("SWITCHYARD_SOCKET").map({ String(cString: $0) }) else {
            throw ValidationError("--socket or SWITCHYARD_SOCKET is required")
        }
        guard let raw = getenv("SWITCHYARD_UPSTREAM") else {
            throw ValidationError("SWITCHYARD_UPSTREAM (the upstream's spec as JSON) is required")
        }
        let spec: UpstreamSpec
        do { spec = try UpstreamSpec.decode(Array(String(cString: raw).utf8)) } catch {
            throw ValidationError(error.description)
        }
        // The copies must not inherit the spec (and its secrets) through the environment.
        unsetenv("SWITCHYARD_UPSTREAM")
        // Started by `switchyard stdio`, whose client may end it with SIGKILL: stop the copies and
        // leave with it (proto, "Parent death"); the copies are not told (the contract is ours).
        if let raw = getenv("SWITCHYARD_EXIT_WITH_PARENT"), let parent = Int32(String(cString: raw)) {
            _ = sy_exit_with_parent(SIGTERM, parent)
            unsetenv("SWITCHYARD_EXIT_WITH_PARENT")
        }
        let bridge = UpstreamBridge(spec: spec, name: name ?? "upstream-\(spec.name)", socketPath: path)
        let status: Int32
        do { status = try bridge.run() } catch let e as UpstreamBridge.StartupFailed {
            FileHandleStderr.write("switchyard upstream: \(e.description)\n")
            throw ExitCode(1)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

enum FileHandleStderr {
    static func write(_ s: String) { _ = s.withCString { Glibc.write(2, $0, strlen($0)) } }
}
