/// One writer's hash chain in the audit log, and the encoder of its lines.
///
/// Several fronts append to one file, so each front process keeps a chain of its own: every
/// line names its chain (`chain`, random per process), numbers itself in it (`seq`, from 1)
/// and carries `prev`, the hex SHA-256 of the chain's previous line (its bytes without the
/// newline). Fronts never coordinate, yet every chain can be checked in the merged file; one
/// writer for all fronts would need a hop between processes on every request.
/// A chain's first line says `"start":"new"` (with `prev` of 64 zeros); the first line after
/// the writer reopened its file (log rotation) says `"start":"reopen"` and keeps `seq` and
/// `prev` going, so a rotated file verifies on its own and the two files verify as a sequence.
///
/// Line layout, keys in this order: `time`, `front`, `chain`, `seq`, `prev`, [`start`], then
/// `AuditRecord.appendMembers`.
/// Thread: one writer (a front's loop thread).
public struct AuditChain: Sendable {
    public enum Start: String, Sendable {
        case new
        case reopen
    }

    public static let zeroHash = [UInt8](repeating: 0, count: 32)

    /// 16 hex digits, random per writer.
    public let id: String
    /// The front index (for people reading the log; the chain id is what verification uses).
    public let front: Int
    /// The last line's number; 0 before the first.
    public private(set) var seq: UInt64 = 0
    /// SHA-256 of the last line written.
    public private(set) var lastHash: [UInt8] = AuditChain.zeroHash
    private var pendingStart: Start? = .new

    public init(front: Int, id: String = AuditChain.randomId()) {
        self.front = front
        self.id = id
    }

    public static func randomId() -> String {
        var g = SystemRandomNumberGenerator()
        return AuditDigest.hex(withUnsafeBytes(of: g.next() as UInt64) { Array($0) })
    }

    /// The next line opens a new file: it is marked `"start":"reopen"`.
    public mutating func reopened() {
        if seq > 0 { pendingStart = .reopen }
    }

    /// Appends `record` as one line (newline included) and moves the chain on.
    public mutating func append(_ record: AuditRecord, to out: inout [UInt8]) {
        let lineStart = out.count
        seq += 1
        out += "{\"time\":\"".utf8
        out += AuditRecord.timestamp(record.timeNs).utf8
        out += "\",\"front\":".utf8
        out += String(front).utf8
        out += ",\"chain\":\"".utf8
        out += id.utf8
        out += "\",\"seq\":".utf8
        out += String(seq).utf8
        out += ",\"prev\":\"".utf8
        out += AuditDigest.hex(lastHash).utf8
        out.append(UInt8(ascii: "\""))
        if let s = pendingStart {
            out += ",\"start\":\"".utf8
            out += s.rawValue.utf8
            out.append(UInt8(ascii: "\""))
            pendingStart = nil
        }
        out.append(UInt8(ascii: ","))
        record.appendMembers(to: &out)
        out.append(UInt8(ascii: "}"))
        lastHash = out.withUnsafeBytes { AuditDigest.sha256(UnsafeRawBufferPointer(rebasing: $0[lineStart...])) }
        out.append(0x0A)
    }
}
