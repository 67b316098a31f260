/// How to run one child of the supervisor.
public struct ChildSpec: Sendable {
    public enum Role: String, Sendable { case executor, front }

    public var name: String
    public var role: Role
    /// argv[0] is the program (a path, or a name looked up in PATH). The text `{socket}` in an
    /// argument is replaced by the socket path of the instance being started.
    public var argv: [String]
    /// An executor's socket: `<dir>/<name>.sock`, or `<dir>/<name>.g<N>.sock` for the N-th
    /// replacement of a rolling restart (both run for a moment). Also passed as SWITCHYARD_SOCKET.
    public var socketDirectory: String?
    /// Heartbeats on the executor's socket: interval and the silence that gets it killed (ms); 0 = off.
    public var heartbeatIntervalMs: UInt64 = 1_000
    public var heartbeatTimeoutMs: UInt64 = 5_000
    /// An executor above this resident size is drained and restarted; nil = no limit.
    public var maxRSSBytes: Int?
    /// Added to the supervisor's environment.
    public var environment: [String: String]
    public var policy: RestartPolicy
    /// SIGTERM first; SIGKILL if still running after this long.
    public var shutdownTimeoutMs: UInt64
    /// Readiness: the child writes "READY\n" on the descriptor named by SWITCHYARD_READY_FD.
    public var readyTimeoutMs: UInt64

    /// The short name used in socket file names.
    public var instanceName: String

    /// How the child's descriptors 0-2 are set up.
    public enum StandardIO: Sendable {
        /// No stdin; stdout and stderr shared with the supervisor; fd 3 is the readiness pipe.
        case inherit
        /// Three pipes to the parent (`ChildProcess.stdin`, `.stdout`, `.stderr`) and no
        /// readiness pipe: a program that speaks a protocol on its stdio (an upstream MCP server).
        case pipes
    }
    public var standardIO: StandardIO = .inherit
    /// The child's working directory; nil: the supervisor's.
    public var workingDirectory: String?

    public init(name: String, role: Role, argv: [String], environment: [String: String] = [:],
                policy: RestartPolicy = RestartPolicy(), shutdownTimeoutMs: UInt64 = 15_000,
                readyTimeoutMs: UInt64 = 30_000, socketDirectory: String? = nil, instanceName: String? = nil) {
        self.name = name; self.role = role; self.argv = argv; self.environment = environment
        self.policy = policy; self.shutdownTimeoutMs = shutdownTimeoutMs; self.readyTimeoutMs = readyTimeoutMs
        self.socketDirectory = socketDirectory
        self.instanceName = instanceName ?? name
    }

    /// The socket path of generation `generation` (0 for the first).
    public func socketPath(generation: Int) -> String? {
        guard let dir = socketDirectory else { return nil }
        return generation == 0 ? "\(dir)/\(instanceName).sock" : "\(dir)/\(instanceName).g\(generation).sock"
    }
}
