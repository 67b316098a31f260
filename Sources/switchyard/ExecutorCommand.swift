import ArgumentParser
import CSupport
import Glibc
import ToolSDK

/// `switchyard executor`: one Swift executor hosting built-in tool packs.
struct ExecutorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executor",
        abstract: "Run one executor hosting built-in tool packs on a Unix socket (proto/executor-protocol.md).",
        discussion: "Fronts find it when the socket lies in their <run-dir>/executors/. "
            + "It can be started and restarted on its own."
    )

    @Option(help: "Unix socket to listen on (default: $SWITCHYARD_SOCKET).") var socket: String?
    @Option(help: "Name reported to fronts (default: $SWITCHYARD_EXECUTOR_NAME or 'swift').") var name: String?
    @Option(help: "Tool packs, comma-separated (available: demo, forms, chaos, conformance).") var tools = "demo"
    @Option(help: "Most calls run at once.") var maxConcurrency = 256
    @Option(help: "RESULT payloads at least this many bytes are zstd-compressed.")
    var compressThreshold = 8 * 1024 * 1024

    func run() throws {
        guard let path = socket ?? getenv("SWITCHYARD_SOCKET").map({ String(cString: $0) }) else {
            throw ValidationError("--socket or SWITCHYARD_SOCKET is required")
        }
        let name = self.name ?? getenv("SWITCHYARD_EXECUTOR_NAME").map { String(cString: $0) } ?? "swift"
        let tools = try ToolPacks.tools(tools)
        let maxConcurrency = try NumberSetting.check(maxConcurrency, option: "--max-concurrency", 1...65_536)
        let compressThreshold = try NumberSetting.check(compressThreshold, option: "--compress-threshold",
                                                        0...Int(UInt32.max))
        // Started by `switchyard stdio`, whose client may end it with SIGKILL: drain and leave
        // with it rather than linger as an orphan.
        if let raw = getenv("SWITCHYARD_EXIT_WITH_PARENT"), let parent = Int32(String(cString: raw)) {
            _ = sy_exit_with_parent(SIGTERM, parent)
        }
        let runtime = ExecutorRuntime(options: .init(name: name, socketPath: path, maxConcurrency: maxConcurrency,
                                                     compressThreshold: compressThreshold), pack: tools)
        let status = try runtime.run()
        if status != 0 { throw ExitCode(status) }
    }
}
