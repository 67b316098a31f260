import Glibc

/// A few names (`properties`, `required`) matched against an instance's member names as they
/// lie in its bytes: the names' UTF-8 in one blob, compared by length, then memcmp. No String
/// is made and nothing is retained per comparison.
struct KeyTable: Sendable {
    let names: [String]
    private let blob: [UInt8]
    private let bounds: [Range<Int>]

    init(_ names: [String]) {
        self.names = names
        var blob: [UInt8] = [], bounds: [Range<Int>] = []
        for n in names {
            let start = blob.count
            blob += n.utf8
            bounds.append(start..<blob.count)
        }
        self.blob = blob
        self.bounds = bounds
    }

    var count: Int { bounds.count }
    var isEmpty: Bool { bounds.isEmpty }

    /// The index of the name whose UTF-8 is `key`, or nil.
    @inline(__always)
    func index(of key: UnsafeRawBufferPointer) -> Int? {
        let n = key.count
        return bounds.withUnsafeBufferPointer { r -> Int? in
            blob.withUnsafeBytes { b -> Int? in
                for i in 0..<r.count where r[i].count == n {
                    if n == 0 || memcmp(b.baseAddress! + r[i].lowerBound, key.baseAddress!, n) == 0 { return i }
                }
                return nil
            }
        }
    }
}
