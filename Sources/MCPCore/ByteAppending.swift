/// Appending to a byte array on hot paths (CALL contexts, response heads, tool results).
/// `out += "literal".utf8` goes through the generic sequence append, about a hundred
/// instructions for a few bytes; a static string is one copy of bytes known at compile time.
extension Array where Element == UInt8 {
    /// Appends the UTF-8 bytes of a string literal.
    @inlinable
    public mutating func append(literal s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Appends `h` in lowercase hex without leading zeros (as `String(h, radix: 16)` writes it),
    /// in one append: the digits are built on the stack.
    @inlinable
    public mutating func append(hex h: UInt64) {
        let digits: StaticString = "0123456789abcdef"
        let count = h == 0 ? 1 : (67 - h.leadingZeroBitCount) / 4
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buffer in
            var v = h
            for k in stride(from: count - 1, through: 0, by: -1) {
                buffer[k] = digits.utf8Start[Int(v & 0xF)]
                v >>= 4
            }
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 where it lies (native strings are contiguous).
    @inlinable
    public mutating func append(utf8 s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }
}
