import Glibc

/// Reads a fuzz input as a stream of decisions (like LLVM's FuzzedDataProvider): small
/// integers, picks from lists and byte strings. An input that runs out reads zeros, so every
/// input decodes to something and short inputs decode to the simple cases.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isEmpty: Bool { offset >= bytes.count }
    public var remaining: Int { max(0, bytes.count - offset) }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A number in 0..<n (n <= 65536), from one byte when n <= 256, two otherwise.
    public mutating func below(_ n: Int) -> Int {
        guard n > 1 else { return 0 }
        if n <= 256 { return Int(byte()) % n }
        return (Int(byte()) << 8 | Int(byte())) % n
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    public mutating func uint32() -> UInt32 {
        (0..<4).reduce(UInt32(0)) { v, _ in v << 8 | UInt32(byte()) }
    }

    public mutating func uint64() -> UInt64 { UInt64(uint32()) << 32 | UInt64(uint32()) }

    public mutating func pick<T>(_ list: [T]) -> T { list[below(list.count)] }

    /// Up to `max` bytes: a length byte, then that many bytes (fewer at the end of the input).
    public mutating func bytes(max: Int) -> [UInt8] {
        let n = min(below(max + 1), remaining)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// The rest of the input.
    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }
}

/// Stops the run with a message when an invariant fails: libFuzzer saves the input as a crash.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    var text = "fuzz invariant failed at \(file):\(line): \(message())\n"
    fflush(nil) // what a target printed (FUZZ_PRINT) comes first
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    abort()
}

/// Byte-level mutations the fuzzer steers (insert, delete, overwrite, splice a token), applied
/// `count` times to `seed`: how structure-aware targets mutate JSON and header values.
public func mutate(_ seed: [UInt8], _ input: inout FuzzInput, count: Int, tokens: [String] = []) -> [UInt8] {
    var out = seed
    for _ in 0..<count {
        let at = out.isEmpty ? 0 : input.below(out.count + 1)
        switch input.below(5) {
        case 0: out.insert(input.byte(), at: at)
        case 1: if at < out.count { out.remove(at: at) }
        case 2: if at < out.count { out[at] = input.byte() }
        case 3: if !tokens.isEmpty { out.insert(contentsOf: Array(input.pick(tokens).utf8), at: at) }
        default:
            let n = input.below(16)
            if at < out.count { out.removeSubrange(at..<min(out.count, at + n)) }
        }
    }
    return out
}
