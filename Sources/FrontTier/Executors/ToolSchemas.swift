import Glibc
import MCPCore
import SchemaValidation

/// Each tool's compiled inputSchema, found by the tool name's bytes as they lie in the request:
/// FNV-1a into an open-addressed table built with the catalog, then memcmp. No String is made
/// and no SipHash runs per call (a String-keyed lookup cost about 500 instructions).
struct ToolSchemas {
    private var hashes: [UInt64] = [] // 0: empty slot
    private var names: [[UInt8]] = []
    private var schemas: [CompiledSchema?] = []
    private var mask = 0

    init() {}

    init(_ entries: [String: CompiledSchema]) {
        guard !entries.isEmpty else { return }
        var size = 8
        while size < entries.count * 2 { size *= 2 }
        mask = size - 1
        hashes = Array(repeating: 0, count: size)
        names = Array(repeating: [], count: size)
        schemas = Array(repeating: nil, count: size)
        for (name, schema) in entries {
            let key = Array(name.utf8)
            let h = Self.hash(key.withUnsafeBytes { Self.hashBytes($0) })
            var i = Int(truncatingIfNeeded: h) & mask
            while hashes[i] != 0 { i = (i + 1) & mask }
            hashes[i] = h
            names[i] = key
            schemas[i] = schema
        }
    }

    @inline(__always)
    private static func hashBytes(_ b: UnsafeRawBufferPointer) -> UInt64 { FNV1a.hash(b) }

    /// Never 0, which marks an empty slot.
    @inline(__always)
    private static func hash(_ h: UInt64) -> UInt64 { h | 1 }

    /// The schema of the tool whose name's UTF-8 is `name`, or nil.
    func schema(named name: UnsafeRawBufferPointer) -> CompiledSchema? {
        guard mask != 0 else { return nil }
        let h = Self.hash(Self.hashBytes(name))
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = hashes[i]
            if slot == 0 { return nil }
            if slot == h {
                let same = names[i].withUnsafeBytes { n in
                    n.count == name.count && (n.count == 0 || memcmp(n.baseAddress!, name.baseAddress!, n.count) == 0)
                }
                if same { return schemas[i] }
            }
            i = (i + 1) & mask
        }
    }
}
