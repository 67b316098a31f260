import EventLoop
import Glibc
import Redis

/// Keeps `window` commands in flight on the client's one connection until `count` replies
/// came back, for SET then GET, and prints commands/s and CPU µs per command (this process,
/// and the server's when its pid is given).
enum RedisClientBench {
    static func main(_ args: [String]) {
        var port = 6379, count = 1_000_000, windows = [16, 800], serverPid: Int32?
        var i = 0
        while i < args.count {
            let value = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--port": port = Int(value) ?? port
            case "--count": count = Int(value) ?? count
            case "--windows": windows = value.split(separator: ",").compactMap { Int($0) }
            case "--server-pid": serverPid = Int32(value)
            default:
                print("usage: redis-client-bench [--port P] [--count N] [--windows 16,800] [--server-pid PID]")
                exit(2)
            }
            i += 2
        }
        signal(SIGPIPE, SIG_IGN)
        let loop = Loop()
        let client = RedisClient(loop: loop, settings: RedisSettings(topology: .single(RedisEndpoint(host: "127.0.0.1", port: port))),
                                 log: { print($0) })
        client.start()
        runUntil(loop) { client.isUp }
        guard client.isUp else { print("redis on port \(port) is not reachable"); exit(1) }
        let key = Array("key:__rand_int__".utf8), value = Array("xxx".utf8)
        for window in windows {
            for (name, command) in [("SET", [Array("SET".utf8), key, value]), ("GET", [Array("GET".utf8), key])] {
                run(loop, client, name: name, command: command, count: count, window: window, serverPid: serverPid)
            }
        }
        client.close()
    }

    private static func run(_ loop: Loop, _ client: RedisClient, name: String, command: [[UInt8]], count: Int,
                            window: Int, serverPid: Int32?) {
        var sent = 0, replied = 0, errors = 0
        func sendOne() {
            sent += 1
            client.send(command, key: nil) { reply in
                replied += 1
                if case .error = reply { errors += 1 }
                if sent < count { sendOne() }
            }
        }
        let cpu0 = selfCPU(), server0 = serverPid.map(processCPU), t0 = monotonic()
        for _ in 0..<min(window, count) { sendOne() }
        runUntil(loop) { replied == count }
        let seconds = monotonic() - t0
        let cpu = selfCPU() - cpu0
        var line = "client \(name) window=\(window): \(count) commands in \(fmt(seconds)) s = \(Int(Double(count) / seconds)) cmd/s, "
            + "client CPU \(fmt(cpu / Double(count) * 1e6)) µs/cmd"
        if let serverPid, let server0 {
            line += ", server CPU \(fmt((processCPU(serverPid) - server0) / Double(count) * 1e6)) µs/cmd"
        }
        print(line + (errors > 0 ? ", \(errors) errors" : ""))
    }

    private static func runUntil(_ loop: Loop, _ done: @escaping () -> Bool) {
        let deadline = monotonic() + 120
        let poll = EventLoop.Timer(loop: loop) { if done() || monotonic() > deadline { loop.stop() } }
        poll.start(after: 1, repeat: 1)
        loop.run()
        poll.close()
    }

    private static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func selfCPU() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks).
    private static func processCPU(_ pid: Int32) -> Double {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func fmt(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        return String(scaled)
    }
}
