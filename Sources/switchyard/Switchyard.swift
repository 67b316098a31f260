import ArgumentParser

/// `switchyard serve | stdio | front | executor` and the tools around them.
struct Switchyard: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        abstract: "A high-performance MCP server: fronts speak MCP over HTTP, executors host the tools.",
        version: version,
        subcommands: [ServeCommand.self, StdioCommand.self, FrontCommand.self, ExecutorCommand.self, ReloadCommand.self,
                      KeysCommand.self, AuditCommand.self, CheckConfigCommand.self, UpstreamCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
