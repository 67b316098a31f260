import ArgumentParser
import MCPCore
import Upstream

/// `--upstream NAME=COMMAND`, `--upstream-pool N` and the config file's `upstreams` object
/// (name → settings) and `upstreamPool`, checked into specs.
enum UpstreamOptions {
    static func specs(options: [String], pool: Int?, config: ConfigFile) throws -> [UpstreamSpec] {
        let defaultPool = try config.int(pool, "upstreamPool", 1...64) ?? 2
        var specs: [UpstreamSpec] = []
        do {
            for o in options { specs.append(try UpstreamSpec.parse(option: o, pool: defaultPool)) }
            if let v = config.values["upstreams"] {
                guard case .object(let o) = v else {
                    throw ValidationError("config file: 'upstreams' must be an object of name: settings")
                }
                for name in o.keys.sorted() {
                    specs.append(try UpstreamSpec.parse(name: name, config: o[name]!, pool: defaultPool))
                }
            }
        } catch let e as UpstreamSpec.Invalid {
            throw ValidationError(e.description)
        }
        var seen = Set<String>()
        for s in specs where !seen.insert(s.name).inserted {
            throw ValidationError("two upstreams are named '\(s.name)'")
        }
        return specs
    }
}
