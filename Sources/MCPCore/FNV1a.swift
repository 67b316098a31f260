/// FNV-1a, 64 bits: the hash behind session activity slots and cancellation keys (fronts and
/// executors must agree on the latter, so it stays FNV-1a), and the metrics schema hash.
/// Inlinable: fronts hash per request, and a call across modules to an unspecialized generic
/// would cost more than the hash.
public enum FNV1a {
    @inlinable public static var basis: UInt64 { 0xcbf2_9ce4_8422_2325 }
    @inlinable public static var prime: UInt64 { 0x100_0000_01b3 }

    @inlinable
    public static func hash(_ bytes: some Sequence<UInt8>, from seed: UInt64 = basis) -> UInt64 {
        var h = seed
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return h
    }

    /// Over the string's UTF-8 where it lies (native strings are contiguous); walking
    /// `String.utf8` instead cost about ten times as much per byte.
    @inlinable
    public static func hash(_ s: String, from seed: UInt64 = basis) -> UInt64 {
        s.utf8.withContiguousStorageIfAvailable { hash($0, from: seed) } ?? hash(s.utf8, from: seed)
    }
}
