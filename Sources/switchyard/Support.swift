import ArgumentParser
import DemoTools
import FoundationEssentials
import Glibc
import MCPCore
import ToolSDK

/// The built-in tool packs by name.
enum ToolPacks {
    static let packs: [String: ToolPack] = ["demo": ToolPack(DemoPack.tools), "chaos": ToolPack(ChaosPack.tools),
                                            "forms": ToolPack(FormsPack.tools),
                                            "conformance": ConformancePack.pack]

    static func tools(_ list: String) throws -> ToolPack {
        try validate(list)
        return ToolPack(merging: list.split(separator: ",").map { packs[String($0)]! })
    }

    static func validate(_ list: String) throws {
        for name in list.split(separator: ",") where packs[String(name)] == nil {
            let available = packs.keys.sorted().joined(separator: ", ")
            throw ValidationError("unknown tool pack '\(name)' (available: \(available))")
        }
    }
}

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String { DemoPack.hex(bytes) }

    static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var i = 0
        while i < u.count {
            guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    static func random(bytes n: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return encode((0..<n).map { _ in UInt8.random(in: 0...255, using: &g) })
    }
}

/// The run directory: private (0700), holding `executors/*.sock`.
struct RunDirectory {
    let path: String
    let owned: Bool
    var executors: String { path + "/executors" }

    static func prepare(_ given: String?) throws -> RunDirectory {
        let dir: RunDirectory
        if let given {
            mkdir(given, 0o700)
            dir = RunDirectory(path: given, owned: false)
        } else {
            var template = Array("/tmp/switchyard-XXXXXX".utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                throw ValidationError("cannot create a run directory under /tmp")
            }
            dir = RunDirectory(path: String(cString: template), owned: true)
        }
        mkdir(dir.executors, 0o700)
        var st = stat()
        guard stat(dir.executors, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ValidationError("run directory \(dir.path) is not usable")
        }
        // Sockets of a previous run would be linked by the new fronts: clear them.
        if let d = opendir(dir.executors) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) {
                    String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if name.hasSuffix(".sock") { unlink(dir.executors + "/" + name) }
            }
            closedir(d)
        }
        return dir
    }

    func removeIfOwned() {
        guard owned else { return }
        unlink(path + "/sessions.revoked")
        unlink(path + "/sessions.activity")
        unlink(path + "/supervisor.pid")
        unlink(path + "/sessions.gen")
        rmdir(executors)
        rmdir(path)
    }
}

enum SelfExecutable {
    static func path() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? String(cString: buf) : CommandLine.arguments[0]
    }
}

/// A JSON config file; keys mirror the long options of `serve`.
struct ConfigFile {
    var values: [String: JSONValue] = [:]

    static func load(_ path: String) throws -> ConfigFile {
        guard let f = fopen(path, "r") else { throw ValidationError("cannot read config file \(path)") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        guard case .object(let o)? = try? JSONValue.parse(bytes) else {
            throw ValidationError("config file \(path) is not a JSON object")
        }
        let known: Set = ["host", "port", "fronts", "executors", "tools", "executorCommands", "preferSSE", "maxBody",
                          "sessionKey", "runDir", "compressThreshold", "callTimeoutMs", "maxQueued", "restartIntensity",
                          "restartPeriodMs", "restartMaxDelayMs", "heartbeatIntervalMs", "heartbeatTimeoutMs",
                          "executorMaxRssMb", "idleTimeout", "executorMaxConcurrency", "admin", "logFormat",
                          "accessLog", "sessionIdleTimeout", "listPageSize", "eventStoreSize", "eventStoreAge",
                          "allowOrigins", "validateArguments"]
        for k in o.keys where !known.contains(k) { throw ValidationError("config file \(path): unknown key '\(k)'") }
        return ConfigFile(values: o)
    }

    func string(_ k: String) -> String? { values[k]?.stringValue }
    func int(_ k: String) -> Int? { values[k]?.numberValue.map { Int($0) } }
    func bool(_ k: String) -> Bool? { if case .bool(let b)? = values[k] { return b }; return nil }
    func strings(_ k: String) -> [String]? {
        guard case .array(let a)? = values[k] else { return nil }
        return a.compactMap(\.stringValue)
    }
}

/// `on` or `off`, for --validate-arguments.
enum OnOff {
    static func parse(_ s: String, option: String) throws -> Bool {
        switch s {
        case "on", "true": return true
        case "off", "false": return false
        default: throw ValidationError("\(option) takes on or off, got '\(s)'")
        }
    }
}

/// `NAME=MS` for --tool-timeout.
enum ToolTimeout {
    static func parse(_ s: String) throws -> (String, UInt64) {
        let parts = s.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let ms = UInt64(parts[1]), ms > 0 else {
            throw ValidationError("--tool-timeout takes NAME=MS, got '\(s)'")
        }
        return (String(parts[0]), ms)
    }
}

/// `HOST:PORT` (IPv6 as `[::1]:PORT`).
enum HostPort {
    static func parse(_ s: String) throws -> (host: String, port: Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]),
              (1...65535).contains(port) else {
            throw ValidationError("expected HOST:PORT, got '\(s)'")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("expected HOST:PORT, got '\(s)'") }
        return (host, port)
    }
}
