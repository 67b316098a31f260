import CSupport
import Glibc

/// Ended sessions, shared by every front of one server through the run directory, so a
/// session deleted on one front is refused by all of them, including fronts started later:
///
/// - `sessions.revoked`: append-only, one event per line, `R <id>` (deleted) or `L <id> <level>`
///   (logging/setLevel); O_APPEND writes of one line are atomic;
/// - `sessions.gen`: an 8-byte counter in shared memory, bumped after each append.
///
/// A front compares the counter (one memory load) before trusting a session and reads the new
/// lines when it moved. The append happens before the DELETE is answered, so no front can
/// accept a session after its deletion was acknowledged. The local half of `SessionEventSharing`
/// (always on; Redis adds the hosts).
/// Thread: the loop thread.
final class SessionRevocations: SessionEventSharing {
    private let logFD: Int32
    private let generation: UnsafeMutablePointer<UInt64>?
    private var seenGeneration: UInt64 = 0
    private var offset: off_t = 0
    private var partial: [UInt8] = []
    /// Called with each event of another front of this server (and of this front: the log is
    /// read whole, which is harmless, every event being idempotent).
    var deliver: ((SessionEvent) -> Void)?

    init(runDir: String) {
        logFD = open(runDir + "/sessions.revoked", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let genFD = open(runDir + "/sessions.gen", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if genFD >= 0 {
            var st = stat()
            if fstat(genFD, &st) == 0 && st.st_size < 8 { _ = ftruncate(genFD, 8) }
            let p = mmap(nil, 8, PROT_READ | PROT_WRITE, MAP_SHARED, genFD, 0)
            generation = (p == MAP_FAILED || p == nil) ? nil : p!.assumingMemoryBound(to: UInt64.self)
            close(genFD)
        } else {
            generation = nil
        }
    }

    deinit {
        if logFD >= 0 { close(logFD) }
        if let generation { munmap(generation, 8) }
    }

    /// Appends the event for every front of this server; applied as soon as it is written.
    /// A subscription's URI comes escaped (`replacingSpacesAndNewlines`): one field of a line.
    func publish(_ event: SessionEvent, applied: @escaping () -> Void) {
        switch event {
        case .revoked(let id): append("R " + id + "\n")
        case .level(let id, let level): append("L " + id + " " + level + "\n")
        case .subscription(let id, let uri, let on):
            append((on ? "S " : "U ") + id + " " + uri + "\n")
        }
        applied()
    }

    private func append(_ line: String) {
        guard logFD >= 0 else { return }
        _ = line.withCString { Glibc.write(logFD, $0, strlen($0)) }
        if let generation { _ = sy_atomic_add_u64(generation, 1) }
    }

    /// Reads deletions made since the last look; cheap when there are none.
    func refresh() {
        if let generation {
            let g = sy_atomic_load_u64(generation)
            if g == seenGeneration { return }
            seenGeneration = g
        }
        guard logFD >= 0 else { return }
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buf.withUnsafeMutableBytes { pread(logFD, $0.baseAddress, $0.count, offset) }
            if n <= 0 { break }
            offset += off_t(n)
            partial += buf[0..<n]
            while let nl = partial.firstIndex(of: 0x0A) {
                let line = String(decoding: partial[0..<nl], as: UTF8.self)
                partial.removeFirst(nl + 1)
                let f = line.split(separator: " ")
                if f.count == 2 && f[0] == "R" { deliver?(.revoked(String(f[1]))) }
                if f.count == 3 && f[0] == "L" { deliver?(.level(String(f[1]), String(f[2]))) }
                if f.count == 3 && (f[0] == "S" || f[0] == "U") {
                    deliver?(.subscription(String(f[1]), uri: String(f[2]), on: f[0] == "S"))
                }
            }
        }
    }
}

extension String {
    /// Spaces and line breaks percent-encoded, so a URI fits one field of a log line.
    func replacingSpacesAndNewlines() -> String {
        var out = ""
        for ch in self.unicodeScalars {
            switch ch {
            case " ": out += "%20"
            case "\n": out += "%0A"
            case "\r": out += "%0D"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
