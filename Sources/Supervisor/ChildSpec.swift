/// How to run one child of the supervisor.
public struct ChildSpec: Sendable {
    public enum Role: String, Sendable { case executor, front }

    public var name: String
    public var role: Role
    /// argv[0] is the program (a path, or a name looked up in PATH).
    public var argv: [String]
    /// Added to the supervisor's environment.
    public var environment: [String: String]
    public var policy: RestartPolicy
    /// SIGTERM first; SIGKILL if still running after this long.
    public var shutdownTimeoutMs: UInt64
    /// Readiness: the child writes "READY\n" on the descriptor named by SWITCHYARD_READY_FD.
    public var readyTimeoutMs: UInt64

    public init(name: String, role: Role, argv: [String], environment: [String: String] = [:],
                policy: RestartPolicy = RestartPolicy(), shutdownTimeoutMs: UInt64 = 15_000, readyTimeoutMs: UInt64 = 30_000) {
        self.name = name; self.role = role; self.argv = argv; self.environment = environment
        self.policy = policy; self.shutdownTimeoutMs = shutdownTimeoutMs; self.readyTimeoutMs = readyTimeoutMs
    }
}
