import ArgumentParser
import EventLoop
import FrontTier
import Glibc
import MCPCore
import Supervisor

/// `switchyard stdio`: one MCP client over stdin/stdout, as an IDE launches a local server.
/// This process is the front (StdioFront) and the supervisor of its executors, on one loop.
struct StdioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stdio",
        abstract: "Serve one MCP client over stdin/stdout (newline-delimited JSON-RPC), with executors as in serve.",
        discussion: """
        Reads one JSON-RPC message per line on stdin and writes one per line on stdout; logs go to stderr, \
        and executors get /dev/null as stdin and stderr as stdout. Both protocol eras are served: \
        initialize (2025-11-25 and earlier, one implicit session) and 2026-07-28 (server/discover, _meta). \
        The first message is read once the executors are linked. End of input, SIGTERM or SIGINT: the \
        calls in flight are answered, the executors stopped, and the process exits 0.
        """
    )

    @Option(help: "Number of built-in Swift executors.") var executors = 1
    @Option(help: "Built-in tool packs for the Swift executors, comma-separated (demo, forms, chaos, conformance).")
    var tools = "demo"
    @Option(name: .customLong("executor-cmd"), help: """
        An external executor command (run with /bin/sh -c; repeatable). \
        It gets SWITCHYARD_SOCKET and SWITCHYARD_READY_FD.
        """)
    var executorCommands: [String] = []
    @Option(help: "Largest message line in bytes; a longer one is answered with an error and skipped.")
    var maxBody = 4 * 1024 * 1024
    @Option(help: "Messages that may be unanswered at once; reading pauses beyond.") var maxInFlight = 1024
    @Option(help: "Cancel a tools/call and answer with an error after this many ms.") var callTimeoutMs = 60_000
    @Option(help: "Per-tool call timeout, NAME=MS (repeatable).") var toolTimeout: [String] = []
    @Option(help: "Calls that may wait for an executor with room; beyond, an error.") var maxQueued = 50_000
    @Option(help: "Largest tool result in bytes; a larger one is answered with an error.") var maxResult = 16 << 20
    @Option(help: "Calls each built-in executor runs at once; the front queues the rest.")
    var executorMaxConcurrency = 256
    @Option(help: "Validate tools/call arguments against the tool's inputSchema: on or off.")
    var validateArguments = "on"
    @Option(help: "Entries per page of the list methods.") var listPageSize = 100
    @Option(help: "Directory for executor sockets (default: a new private directory under /tmp).") var runDir: String?
    @Option(help: "Log lines (on stderr) as logfmt (default) or json.") var logFormat: String?

    func validate() throws {
        guard (0...256).contains(executors) else { throw ValidationError("--executors must be 0...256") }
        guard executors > 0 || !executorCommands.isEmpty else { throw ValidationError("need at least one executor") }
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive") }
        guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be positive") }
        try ToolPacks.validate(tools)
        _ = try OnOff.parse(validateArguments, option: "--validate-arguments")
        for t in toolTimeout { _ = try ToolTimeout.parse(t) }
        if let f = logFormat, f != "json", f != "logfmt" { throw ValidationError("--log-format takes json or logfmt") }
    }

    func run() throws {
        if let f = logFormat { setenv("SWITCHYARD_LOG_FORMAT", f, 1) }
        let (input, output) = try Self.takeStandardStreams()
        let runDir = try RunDirectory.prepare(runDir)
        let exe = SelfExecutable.path()
        let policy = RestartPolicy()
        // A client may end this process with SIGKILL: executors then end too (proto, "Parent death").
        let withParent = ["SWITCHYARD_EXIT_WITH_PARENT": String(getpid())]
        var specs: [ChildSpec] = []
        for i in 0..<executors {
            let name = "swift-\(i)"
            specs.append(ChildSpec(name: "executor \(name)", role: .executor,
                                   argv: [exe, "executor", "--socket", "{socket}", "--name", name, "--tools", tools,
                                          "--max-concurrency", String(executorMaxConcurrency)],
                                   environment: withParent, policy: policy, socketDirectory: runDir.executors,
                                   instanceName: name))
        }
        for (i, cmd) in executorCommands.enumerated() {
            let name = "ext-\(i)"
            specs.append(ChildSpec(name: "executor \(name)", role: .executor, argv: ["/bin/sh", "-c", "exec \(cmd)"],
                                   environment: withParent.merging(["SWITCHYARD_EXECUTOR_NAME": name]) { $1 },
                                   policy: policy, socketDirectory: runDir.executors, instanceName: name))
        }

        var o = FrontOptions()
        o.runDir = runDir.path
        o.maxBody = maxBody
        o.maxResultBytes = max(1024, maxResult)
        o.serverVersion = Switchyard.version
        o.callTimeoutMs = UInt64(max(1, callTimeoutMs))
        o.maxQueuedCalls = maxQueued
        o.listPageSize = max(1, listPageSize)
        o.validateArguments = try OnOff.parse(validateArguments, option: "--validate-arguments")
        for t in toolTimeout {
            let (name, ms) = try ToolTimeout.parse(t)
            o.toolTimeoutsMs[name] = ms
        }
        // Sessions live in this process only: a key of its own per start.
        o.sessionKey = Hex.decode(Hex.random(bytes: 32))!
        var settings = StdioFront.Settings()
        settings.expectedExecutors = specs.count
        settings.maxInFlight = maxInFlight

        let loop = Loop()
        let front: StdioFront
        do {
            front = try StdioFront(options: o, settings: settings, loop: loop, input: input, output: output)
        } catch {
            runDir.removeIfOwned()
            throw ValidationError("stdio: \(error)")
        }
        var supervisorOptions = Supervisor.Options(readyLine: "")
        supervisorOptions.stopsOnSignals = false // the front drains first, then stops it
        let supervisor = Supervisor(executors: specs, fronts: [], options: supervisorOptions, loop: loop)
        front.onFinished = { supervisor.stop() }
        supervisor.start()
        front.start()
        loop.run()
        runDir.removeIfOwned()
        if supervisor.exitCode != 0 { throw ExitCode(supervisor.exitCode) }
    }

    /// Takes stdin and stdout for the protocol, on descriptors of their own (close-on-exec), and
    /// points fd 0 at /dev/null and fd 1 at stderr: whatever else in this process or its
    /// children writes to "stdout" lands in the log, never among the messages.
    static func takeStandardStreams() throws -> (input: Int32, output: Int32) {
        let input = fcntl(0, F_DUPFD_CLOEXEC, 3)
        let output = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard input >= 0, output >= 0 else {
            throw ValidationError("stdio: cannot take stdin/stdout: \(String(cString: strerror(errno)))")
        }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard null >= 0, dup2(null, 0) == 0, dup2(2, 1) == 1 else {
            throw ValidationError("stdio: cannot redirect fd 0/1: \(String(cString: strerror(errno)))")
        }
        close(null)
        return (input, output)
    }
}
