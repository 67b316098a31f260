import MCPCore

/// Checks the hash chains of an audit log (`switchyard audit verify`): every chain must start
/// with a `start` line and continue line by line, each `seq` one more than the last and each
/// `prev` the SHA-256 of that chain's previous line. The first line that breaks a chain is
/// named with what most likely happened, judged from the links around it:
///
/// - `edited`: a line's bytes changed (its successor's `prev` no longer matches it, or its own
///   `seq`/`prev` are wrong while nothing else claims its place);
/// - `deleted`: a gap in `seq` that no later line fills (named: the line after the gap);
/// - `reordered`: a genuine line ahead of its place (the line it should follow comes later);
/// - `inserted`: a line no chain leads to, or a second line claiming an existing link.
///
/// What a keyless chain cannot show: a chain's last lines removed or rewritten (nothing
/// follows them), or a whole chain recomputed by someone who can write the file. The summary
/// gives each chain's last hash so it can be recorded elsewhere and compared later.
public enum AuditVerifier {
    public struct ChainSummary: Sendable, Equatable {
        public let id: String
        public let lines: Int
        public let lastSeq: UInt64
        public let lastHash: String
    }

    public struct Summary: Sendable, Equatable {
        public let lines: Int
        /// In order of first appearance.
        public let chains: [ChainSummary]
    }

    public enum Kind: String, Sendable {
        case malformed, edited, deleted, reordered, inserted
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// 1-based line number.
        public let line: Int
        public let kind: Kind
        public let detail: String
        public var description: String { "line \(line): \(kind.rawValue): \(detail)" }
    }

    struct Entry {
        let line: Int
        let chain: String
        let seq: UInt64
        let prev: String
        let start: String?
        let hash: String
    }

    static let zeroHex = String(repeating: "0", count: 64)

    /// Verifies a whole file's bytes. `previous`: the chains of the file rotated before this
    /// one (the summaries of verifying it, and any before); a chain that goes on here with
    /// `"start":"reopen"` must then continue exactly from there, so lines cut from the end of
    /// the older file are found too.
    public static func verify(_ bytes: [UInt8], after previous: [ChainSummary] = []) -> Result<Summary, Failure> {
        let tails = Dictionary(previous.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var entries: [Entry?] = []
        entries.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() { entries.append(parse(line, number: i + 1)) }

        struct State { var last: Entry; var beforeLast: Entry?; var count: Int }
        var chains: [String: State] = [:]
        var order: [String] = []
        for (i, entry) in entries.enumerated() {
            guard let n = entry else {
                return .failure(Failure(line: i + 1, kind: .malformed,
                                        detail: "not an audit line (JSON object with chain, seq and prev)"))
            }
            guard let state = chains[n.chain] else {
                guard let start = n.start else {
                    return .failure(Failure(line: n.line, kind: .deleted,
                                            detail: "chain \(n.chain) has no start line before this one: "
                                                + "its earlier lines were deleted, or this line was inserted"))
                }
                if start == "new" && (n.seq != 1 || n.prev != zeroHex) {
                    return .failure(Failure(line: n.line, kind: .edited,
                                            detail: "a new chain's first line must have seq 1 and a zero prev"))
                }
                if let tail = tails[n.chain], start == "reopen", n.prev != tail.lastHash || n.seq != tail.lastSeq + 1 {
                    let kind: Kind = n.seq > tail.lastSeq + 1 ? .deleted : .edited
                    return .failure(Failure(line: n.line, kind: kind,
                                            detail: "does not continue chain \(n.chain) from the previous file "
                                                + "(seq \(tail.lastSeq) there, \(n.seq) here): its last lines were "
                                                + "removed or changed"))
                }
                chains[n.chain] = State(last: n, beforeLast: nil, count: 1)
                order.append(n.chain)
                continue
            }
            let g = state.last
            if n.prev == g.hash && n.seq == g.seq + 1 {
                chains[n.chain] = State(last: n, beforeLast: g, count: state.count + 1)
                continue
            }
            return .failure(diagnose(n, after: g, beforeLast: state.beforeLast, entries: entries, index: i))
        }
        let summaries = order.map { id in
            let s = chains[id]!
            return ChainSummary(id: id, lines: s.count, lastSeq: s.last.seq, lastHash: s.last.hash)
        }
        return .success(Summary(lines: entries.count, chains: summaries))
    }

    /// `n` (at `entries[index]`) does not follow `g`, the last good line of its chain.
    static func diagnose(_ n: Entry, after g: Entry, beforeLast b: Entry?, entries: [Entry?], index: Int) -> Failure {
        let chain = entries.compactMap { $0 }.filter { $0.chain == n.chain }
        let later = chain.filter { $0.line > n.line }
        let laterLinkToG = later.contains { $0.prev == g.hash }
        if n.prev == g.hash {
            // Linked to g, numbered wrong.
            if laterLinkToG {
                return Failure(line: n.line, kind: .inserted, detail: "line \(g.line) already has a successor later on")
            }
            return Failure(line: n.line, kind: .edited, detail: "seq is \(n.seq), expected \(g.seq + 1)")
        }
        if let b, n.prev == b.hash {
            // g and n both claim to follow b: the one the chain goes on from is genuine.
            if later.contains(where: { $0.prev == g.hash }) {
                return Failure(line: n.line, kind: .inserted,
                               detail: "it claims to follow line \(b.line), which line \(g.line) follows")
            }
            return Failure(line: g.line, kind: .inserted,
                           detail: "line \(n.line) follows line \(b.line) directly; nothing follows this line")
        }
        if laterLinkToG {
            // g's successor comes later: n is out of place.
            if chain.contains(where: { $0.hash == n.prev }) {
                return Failure(line: n.line, kind: .reordered,
                               detail: "it belongs after the line its prev names; line \(g.line)'s successor comes later")
            }
            return Failure(line: n.line, kind: .inserted, detail: "its prev matches no line of chain \(n.chain)")
        }
        if n.seq > g.seq + 1 && !chain.contains(where: { $0.hash == n.prev }) {
            let missing = n.seq - g.seq - 1
            return Failure(line: n.line, kind: .deleted,
                           detail: "\(missing) line\(missing == 1 ? "" : "s") of chain \(n.chain) missing before it "
                               + "(seq \(g.seq + 1)\(missing == 1 ? "" : "…\(n.seq - 1)"))")
        }
        if n.seq == g.seq + 1 {
            // Numbered right, linked wrong: either g changed (then n itself is intact, and the
            // line after n still links to it) or n's prev was altered.
            let successor = later.first { $0.line > n.line }
            if successor == nil || successor!.prev == n.hash {
                return Failure(line: g.line, kind: .edited,
                               detail: "its hash no longer matches the prev of line \(n.line)")
            }
            return Failure(line: n.line, kind: .edited, detail: "its prev does not match line \(g.line)")
        }
        return Failure(line: n.line, kind: .edited,
                       detail: "seq \(n.seq) and prev do not continue line \(g.line) (seq \(g.seq))")
    }

    static func parse(_ line: ArraySlice<UInt8>, number: Int) -> Entry? {
        guard let value = try? JSONValue.parse(line), case .object(let o) = value,
              let chain = o["chain"]?.stringValue, let seqNumber = o["seq"]?.numberValue,
              seqNumber >= 1, seqNumber == seqNumber.rounded(), seqNumber < 9.0e15,
              let prev = o["prev"]?.stringValue else { return nil }
        var start: String?
        if let s = o["start"] {
            guard let text = s.stringValue, text == "new" || text == "reopen" else { return nil }
            start = text
        }
        let hash = line.withUnsafeBytes { AuditDigest.hex(AuditDigest.sha256($0)) }
        return Entry(line: number, chain: chain, seq: UInt64(seqNumber), prev: prev, start: start, hash: hash)
    }
}
