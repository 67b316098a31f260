import ArgumentParser
import EventLoop
import FoundationEssentials
import Glibc
import MCPCore
import Supervisor

/// `switchyard serve`: the supervisor with its fronts and executors.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start N fronts and M executors under a supervisor and serve MCP.",
        discussion: """
        Executors start first; fronts start once every executor is ready. The line
        'switchyard: serving MCP at http://HOST:PORT/mcp' is printed when all are ready.
        A child that dies is restarted with backoff. SIGTERM/SIGINT drain and exit 0.
        Options given on the command line override those of --config.
        """
    )

    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "TCP port (shared by all fronts with SO_REUSEPORT).") var port: Int?
    @Option(help: "Number of front processes (default: 2).") var fronts: Int?
    @Option(help: "Number of built-in Swift executors (default: 2).") var executors: Int?
    @Option(help: "Built-in tool packs for the Swift executors, comma-separated (available: demo).") var tools: String?
    @Option(name: .customLong("executor-cmd"), help: "An external executor command (run with /bin/sh -c; repeatable). It gets SWITCHYARD_SOCKET and SWITCHYARD_READY_FD.")
    var executorCommands: [String] = []
    @Option(help: "JSON config file with any of: host, port, fronts, executors, tools, executorCommands, preferSSE, maxBody, sessionKey, runDir, compressThreshold.")
    var config: String?
    @Option(help: "Directory for executor sockets (default: a new private directory under /tmp).") var runDir: String?
    @Option(help: "Hex key (>= 32 hex digits) that signs session ids; default: random per start.") var sessionKey: String?
    @Option(help: "Largest request body in bytes (default: 4194304).") var maxBody: Int?
    @Option(help: "Executor-link payloads at least this many bytes are zstd-compressed (default: 65536).") var compressThreshold: Int?
    @Flag(help: "Answer with an SSE stream whenever the client accepts one.") var preferSSE = false

    func run() throws {
        let cfg = try config.map(ConfigFile.load) ?? ConfigFile()
        let host = self.host ?? cfg.string("host") ?? "127.0.0.1"
        let port = self.port ?? cfg.int("port") ?? 8080
        let frontCount = self.fronts ?? cfg.int("fronts") ?? 2
        let executorCount = self.executors ?? cfg.int("executors") ?? 2
        let tools = self.tools ?? cfg.string("tools") ?? "demo"
        let external = executorCommands + (cfg.strings("executorCommands") ?? [])
        let preferSSE = self.preferSSE || cfg.bool("preferSSE") == true
        let maxBody = self.maxBody ?? cfg.int("maxBody") ?? 4 * 1024 * 1024
        let threshold = self.compressThreshold ?? cfg.int("compressThreshold") ?? 64 * 1024
        guard (1...64).contains(frontCount) else { throw ValidationError("--fronts must be 1...64") }
        guard (0...256).contains(executorCount) else { throw ValidationError("--executors must be 0...256") }
        guard executorCount > 0 || !external.isEmpty else { throw ValidationError("need at least one executor") }
        try ToolPacks.validate(tools)

        let keyHex = self.sessionKey ?? cfg.string("sessionKey") ?? Hex.random(bytes: 32)
        guard let key = Hex.decode(keyHex), key.count >= 16 else { throw ValidationError("--session-key needs at least 32 hex digits") }
        let runDir = try RunDirectory.prepare(self.runDir ?? cfg.string("runDir"))
        let exe = SelfExecutable.path()

        var executorSpecs: [ChildSpec] = []
        for i in 0..<executorCount {
            let name = "swift-\(i)"
            executorSpecs.append(ChildSpec(name: "executor \(name)", role: .executor,
                argv: [exe, "executor", "--socket", "\(runDir.executors)/\(name).sock", "--name", name, "--tools", tools,
                       "--compress-threshold", String(threshold)]))
        }
        for (i, cmd) in external.enumerated() {
            let name = "ext-\(i)"
            executorSpecs.append(ChildSpec(name: "executor \(name)", role: .executor, argv: ["/bin/sh", "-c", "exec \(cmd)"],
                environment: ["SWITCHYARD_SOCKET": "\(runDir.executors)/\(name).sock", "SWITCHYARD_EXECUTOR_NAME": name]))
        }
        var frontSpecs: [ChildSpec] = []
        for i in 0..<frontCount {
            var argv = [exe, "front", "--host", host, "--port", String(port), "--index", String(i), "--run-dir", runDir.path,
                        "--max-body", String(maxBody), "--compress-threshold", String(threshold)]
            if preferSSE { argv.append("--prefer-sse") }
            frontSpecs.append(ChildSpec(name: "front \(i)", role: .front, argv: argv,
                                        environment: ["SWITCHYARD_SESSION_KEY": Hex.encode(key)]))
        }
        let display = host.contains(":") ? "[\(host)]" : host
        let supervisor = Supervisor(executors: executorSpecs, fronts: frontSpecs,
                                    options: .init(readyLine: "switchyard: serving MCP at http://\(display):\(port)/mcp"))
        let code = supervisor.run()
        runDir.removeIfOwned()
        if code != 0 { throw ExitCode(code) }
    }
}
