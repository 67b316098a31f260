import ArgumentParser
import DemoTools
import EventLoop
import FoundationEssentials
import Glibc
import MCPCore
import Security
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
        // Rate-limit buckets start empty with each server (and a previous boot's clock is meaningless).
        unlink(dir.path + "/ratelimits")
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
        unlink(path + "/ratelimits")
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

/// A JSON config file; keys mirror the long options of `serve`. A file that holds a secret
/// (`ConfigFile.secretKeys`) is refused when users other than its owner may read it.
struct ConfigFile {
    var values: [String: JSONValue] = [:]
    var path = ""
    /// Group or others may read the file (allowed unless it holds a secret).
    var readableByOthers = false

    /// Members whose values are secrets. `sessionKeyFile` is not one: it names a file, which is
    /// checked on its own.
    static let secretKeys = ["sessionKey", "redisPassword"]

    static func load(_ path: String) throws -> ConfigFile {
        let file = try PrivateFile.read(path, what: "config file")
        guard case .object(let o)? = try? JSONValue.parse(file.bytes) else {
            throw ValidationError("config file \(path) is not a JSON object")
        }
        let known = Set(["host", "port", "fronts", "executors", "tools", "executorCommands", "preferSSE", "maxBody",
                          "tlsCert", "tlsKey", "tlsClientCa", "tlsMinVersion",
                          "sessionKey", "sessionKeyFile", "runDir", "compressThreshold", "callTimeoutMs", "maxQueued",
                          "restartIntensity", "restartPeriodMs", "restartMaxDelayMs", "heartbeatIntervalMs",
                          "heartbeatTimeoutMs", "executorMaxRssMb", "idleTimeout", "executorMaxConcurrency", "admin",
                          "logFormat", "accessLog", "sessionIdleTimeout", "listPageSize", "eventStoreSize",
                          "eventStoreAge", "allowOrigins", "headTimeout", "bodyMinRate", "maxConnsPerAddress",
                          "maxResult", "validateArguments", "rateLimits", "auditLog", "toolCacheTtl", "resultCacheMb",
                          "trustedProxies", "upstreams", "upstreamPool"]
                          + AuthOptions.configKeys + RedisArguments.configKeys)
        for k in o.keys where !known.contains(k) { throw ValidationError("config file \(path): unknown key '\(k)'") }
        // An upstream's `env` is where API tokens for it go: as secret as the session key.
        // A remote upstream's `headers` carry its credentials (Authorization) the same way.
        let upstreamEnv: String? = o["upstreams"]?.objectValue?.sorted { $0.key < $1.key }.lazy.compactMap { u -> String? in
            if u.value["env"]?.objectValue?.isEmpty == false { return "upstreams.\(u.key).env" }
            if u.value["headers"]?.objectValue?.isEmpty == false { return "upstreams.\(u.key).headers" }
            return nil
        }.first
        if let secret = secretKeys.first(where: { o[$0] != nil }) ?? upstreamEnv, file.readableByOthers {
            throw ValidationError("config file \(path) holds a secret ('\(secret)') but other users can read it "
                                  + "(mode \(file.modeText)); run: chmod 600 \(path)")
        }
        return ConfigFile(values: o, path: path, readableByOthers: file.readableByOthers)
    }

    func string(_ k: String) -> String? { values[k]?.stringValue }

    /// The command line's `given`, else the config file's whole number `key`, in `range`
    /// (`NumberSetting`); nil when neither is given. Errors name the option (`--` and `key` in
    /// kebab case) or the key, and the range.
    func int(_ given: Int?, _ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        if let given { return try NumberSetting.check(given, option: NumberSetting.option(key), range) }
        guard let v = values[key] else { return nil }
        // Int(exactly:) has no value for fractions and for what no Int holds (1e300): no trap.
        guard case .number(let n) = v, let i = Int(exactly: n), range.contains(i) else {
            throw ValidationError("config file \(path): '\(key)' must be a whole number in "
                                  + "\(NumberSetting.text(range)), got \(v.compactJSON())")
        }
        return i
    }
    func bool(_ k: String) -> Bool? { if case .bool(let b)? = values[k] { return b }; return nil }
    func strings(_ k: String) -> [String]? {
        guard case .array(let a)? = values[k] else { return nil }
        return a.compactMap(\.stringValue)
    }
}

/// Numeric options are checked against the range they make sense in before anything starts: a
/// negative value, zero where it means nothing, a value that overflows once turned into bytes
/// or nanoseconds is a ValidationError (exit 64) naming the option and its range, never a trap.
enum NumberSetting {
    /// A year: the longest any timeout, period or age may be, in ms and in seconds.
    static let maxMs = 31_536_000_000
    static let maxSeconds = 31_536_000
    /// The largest size in bytes (1 TiB): a count of bytes that far from overflowing anything.
    static let maxBytes = 1 << 40

    static func check(_ value: Int, option: String, _ range: ClosedRange<Int>) throws -> Int {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be \(text(range)), got \(value)")
        }
        return value
    }

    static func checkIfGiven(_ value: Int?, option: String, _ range: ClosedRange<Int>) throws -> Int? {
        try value.map { try check($0, option: option, range) }
    }

    static func text(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound)...\(range.upperBound)" }

    /// `--call-timeout-ms` for the config key `callTimeoutMs`.
    static func option(_ key: String) -> String {
        "--" + key.map { $0.isUppercase ? "-" + $0.lowercased() : String($0) }.joined()
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
        guard parts.count == 2, let ms = UInt64(parts[1]), ms > 0, ms <= UInt64(NumberSetting.maxMs) else {
            throw ValidationError("--tool-timeout takes NAME=MS with MS 1...\(NumberSetting.maxMs), got '\(s)'")
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

/// A file read whole with its permission bits (`Security.ProtectedFile`: both from one open
/// descriptor), for the config file, refused only when it holds a secret, and secret files.
struct PrivateFile {
    let bytes: [UInt8]
    let mode: mode_t

    /// Group or others may read it.
    var readableByOthers: Bool { mode & (S_IRGRP | S_IROTH) != 0 }
    /// The permission bits as `chmod` takes them, e.g. `0644`.
    var modeText: String { ProtectedFile.modeText(mode) }

    /// Reads `path`; errors name `what` and the path, never the contents.
    static func read(_ path: String, what: String) throws -> PrivateFile {
        do {
            let file = try ProtectedFile.readWithMode(path, what: what)
            return PrivateFile(bytes: file.bytes, mode: file.mode)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Secrets (the session key, and any later one) come from a file or the config file rather
/// than the command line, where every user of the machine sees them (`ps`,
/// /proc/PID/cmdline). Errors name the option and the file, never the secret.
enum Secret {
    /// The text of a secret file with surrounding whitespace trimmed; refused when group or
    /// others may read the file. `what` names it in errors ("session key file").
    static func read(file path: String, what: String) throws -> String {
        let file = try PrivateFile.read(path, what: what)
        guard !file.readableByOthers else {
            throw ValidationError("\(what) \(path) is readable by other users (mode \(file.modeText)); "
                                  + "run: chmod 600 \(path)")
        }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0D).contains($0) }
        let trimmed = file.bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        return String(decoding: Array(trimmed), as: UTF8.self)
    }

    /// The secret given as `--OPTION VALUE`, `--OPTION-file FILE`, or the config's `key` or
    /// `keyFile` member (the command line wins); nil when none is given. A value on the
    /// command line still works and is warned about.
    static func resolve(option: String, value: String?, file: String?, config: ConfigFile, key: String,
                        log: Log) throws -> String? {
        let noun = option.split(separator: "-").joined(separator: " ")
        if value != nil && file != nil { throw ValidationError("give --\(option) or --\(option)-file, not both") }
        if let value {
            log.warning("--\(option) puts the \(noun) on the command line, where every user can read it in process "
                        + "listings (ps, /proc/PID/cmdline); use --\(option)-file FILE or the config file instead")
            return value
        }
        if let file { return try read(file: file, what: "\(noun) file") }
        let inline = config.string(key), named = config.string(key + "File")
        if inline != nil && named != nil {
            throw ValidationError("the config file gives both '\(key)' and '\(key)File': keep one")
        }
        if let named { return try read(file: named, what: "\(noun) file") }
        return inline
    }
}
