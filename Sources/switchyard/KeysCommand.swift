import ArgumentParser
import Glibc
import Security

/// `switchyard keys new | list | revoke`: API keys for machine clients. The keys file holds
/// only the SHA-256 of each key; a new key is printed once and cannot be shown again.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage API keys (the file given to serve's --api-keys).",
        subcommands: [New.self, List.self, Revoke.self]
    )

    struct FileOption: ParsableArguments {
        @Option(help: "The API keys file (created with mode 0600 by `keys new`).") var file: String
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key, store its hash, print the key once on stdout.")

        @Option(help: "The key's name: the principal's subject, unique in the file.") var name: String
        @Option(help: "Space-separated scopes granted to the key, e.g. \"tools:read tools:call\".") var scopes: String = ""
        @OptionGroup var options: FileOption

        func validate() throws {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
                throw ValidationError("--name must be non-empty, without spaces or control characters")
            }
        }

        func run() throws {
            var records = try keysFile { () throws(ProtectedFile.Problem) in try APIKeysFile.loadOrEmpty(options.file) }
            guard !records.contains(where: { $0.name == name }) else {
                throw ValidationError("a key named '\(name)' exists in \(options.file); revoke it first or pick another name")
            }
            guard let key = APIKey.generate() else { throw ValidationError("the random number generator failed") }
            let granted = scopes.split(separator: " ").map(String.init)
            records.append(APIKeyRecord(name: name, scopes: granted, hash: APIKey.hash(key), created: UInt64(time(nil))))
            try keysFile { () throws(ProtectedFile.Problem) in try APIKeysFile.save(records, to: options.file) }
            print(key)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each key's name, scopes and creation time.")
        @OptionGroup var options: FileOption

        func run() throws {
            let records = try keysFile { () throws(ProtectedFile.Problem) in try APIKeysFile.load(options.file) }
            for r in records {
                print("\(r.name)\t\(r.scopes.isEmpty ? "-" : r.scopes.joined(separator: " "))\t\(utc(r.created))")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a key; a running server refuses it once it re-reads the file.")
        @Option(help: "The key's name.") var name: String
        @OptionGroup var options: FileOption

        func run() throws {
            let records = try keysFile { () throws(ProtectedFile.Problem) in try APIKeysFile.load(options.file) }
            guard records.contains(where: { $0.name == name }) else {
                throw ValidationError("no key named '\(name)' in \(options.file)")
            }
            try keysFile { () throws(ProtectedFile.Problem) in
                try APIKeysFile.save(records.filter { $0.name != name }, to: options.file)
            }
            print("revoked \(name)")
        }
    }
}

/// Runs a keys-file operation, turning its problem into a command-line error.
private func keysFile<T>(_ body: () throws(ProtectedFile.Problem) -> T) throws -> T {
    do { return try body() } catch { throw ValidationError(error.description) }
}

/// `2026-01-31T12:00:00Z`.
private func utc(_ seconds: UInt64) -> String {
    var t = time_t(seconds)
    var parts = tm()
    gmtime_r(&t, &parts)
    var buf = [CChar](repeating: 0, count: 32)
    strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    return String(cString: buf)
}
