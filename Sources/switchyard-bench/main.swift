// switchyard-bench: the load generator for MCP Streamable HTTP servers (bench/README.md).
// Everything lives in BenchClient; this file only hands the command line over.
import ArgumentParser
import BenchClient
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-bench",
        abstract: "Load generator for MCP Streamable HTTP servers on this machine's loopback.",
        subcommands: [Run.self, ChartCommand.self], defaultSubcommand: Run.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Runs one load (the default subcommand) and prints latency percentiles, rate and errors.")

    @Option(help: "Server URL (loopback only).") var url = "http://127.0.0.1:8080/mcp"
    @Option(name: [.customShort("c"), .long], help: "Concurrent connections, each its own MCP session.")
    var connections = 100
    @Option(name: [.customShort("d"), .long], help: "Seconds measured, after the warm-up.") var duration = 10.0
    @Option(help: "Seconds of load before measuring.") var warmup = 1.0
    @Option(help: "Open loop: total requests per second, latency from each request's scheduled time.") var rate: Double?
    @Option(help: "Tool to call.") var tool = "echo"
    @Option(name: .customLong("args"), help: "The tool's arguments, a JSON object.")
    var arguments = #"{"text":"hello"}"#
    @Option(help: "Read the arguments from a file instead (large arguments).") var argsFile: String?
    @Flag(help: "2026-07-28 stateless era: no initialize; Mcp-Method, Mcp-Name and _meta on every request.")
    var stateless = false
    @Flag(help: "2025-11-25 era without initialize: no session (stateless servers, fixed-bytes anchors).")
    var noSession = false
    @Flag(help: "Open a new connection for every request (connection churn).") var newConnectionPerRequest = false
    @Option(help: "Comma-separated loopback addresses to bind client sockets to, in turn.") var sourceAddresses: String?
    @Flag(help: "Open the sessions and hold them for the duration; each answers one call at the end.") var idle = false
    @Option(help: "Seconds before an unanswered request counts as a timeout.") var timeout = 10.0
    @Option(help: "Load-generator threads, one event loop each.") var threads = 1
    @Flag(help: "Do not compare answer ids (servers answering fixed bytes).") var noIdCheck = false
    @Option(help: "Text every answer must contain (default: the echoed text for echo).") var expect: String?
    @Option(help: "Upper bound on requests sent.") var maxRequests = 50_000_000
    @Option(help: "Connections set up at once per thread.") var setupConcurrency = 256
    @Option(help: """
        Comma-separated server PIDs: CPU time and RSS of them and their descendants over the measured window.
        """)
    var serverPid: String?
    @Option(help: "Name of the server under test, carried into the results.") var label = "switchyard"
    @Option(help: "Write the results as JSON.") var json: String?
    @Option(help: "Write a second-by-second chart (throughput and p99) as SVG.") var svg: String?
    @Flag(help: "No progress line.") var quiet = false
    @Option(help: """
        File of header lines added to every request (one per line), e.g. `Authorization: Bearer TOKEN`: \
        a file, so that a credential stays out of process listings.
        """)
    var headersFile: String?

    func run() throws {
        var c = BenchConfig()
        try c.setURL(url)
        c.connections = connections
        c.duration = duration
        c.warmup = warmup
        c.rate = rate
        c.tool = tool
        c.arguments = arguments
        if let argsFile { c.arguments = try String(contentsOfFile: argsFile, encoding: .utf8) }
        c.era = stateless ? .stateless : .session
        c.newConnectionPerRequest = newConnectionPerRequest
        c.skipInitialize = noSession
        c.sourceAddresses = sourceAddresses.map { $0.split(separator: ",").map { String($0) } } ?? []
        c.idle = idle
        c.timeout = timeout
        c.threads = threads
        c.checkID = !noIdCheck
        c.expect = expect
        c.maxRequests = maxRequests
        c.setupConcurrency = setupConcurrency
        c.label = label
        if let headersFile {
            c.extraHeaders = try String(contentsOfFile: headersFile, encoding: .utf8)
                .split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
            guard c.extraHeaders.allSatisfy({ $0.contains(":") }) else {
                throw ValidationError("--headers-file: every line must be NAME: VALUE")
            }
        }
        c.serverPIDs = serverPid.map { $0.split(separator: ",").compactMap { Int32($0) } } ?? []
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        let result = try LoadRunner.run(c, progress: !quiet)
        print(result.text)
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(result).write(to: URL(fileURLWithPath: json))
        }
        if let svg { try Chart.timeline(result).write(toFile: svg, atomically: true, encoding: .utf8) }
        if result.ok == 0 || result.errors > 0 { throw ExitCode(result.ok == 0 ? 2 : 1) }
    }
}

struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Draws throughput and p99 against connections (or target rate) from result JSON files.")

    @Argument(help: "Result files written by run --json.") var files: [String]
    @Option(help: "Output SVG file.") var svg: String
    @Option(help: "Chart title.") var title: String?

    func run() throws {
        let runs = try files.map {
            try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: URL(fileURLWithPath: $0)))
        }
        try Chart.comparison(runs, title: title).write(toFile: svg, atomically: true, encoding: .utf8)
    }
}

Bench.main()
