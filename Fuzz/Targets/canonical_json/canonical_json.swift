// CanonicalJSON, the text the result cache keys a call's arguments by: any bytes, split in two.
// A canonical text exists only for JSON the parser takes, means the same value and is its own
// canonical text; two inputs with one canonical text mean one value (else two different calls
// would share a cached result).
import FuzzSupport
import MCPCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCanonicalJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let first = input.bytes(max: 255)
    let second = input.rest()
    let a = check(first), b = check(second)
    if let a, let b, a.text == b.text {
        require(a.value == b.value, "one text for two values: \(show(first)) and \(show(second))")
    }
    return 0
}

/// The canonical text of `bytes` and its value, after checking what holds for one input.
private func check(_ bytes: [UInt8]) -> (text: [UInt8], value: JSONValue)? {
    guard let text = CanonicalJSON.canonical(bytes) else { return nil }
    guard let value = try? JSONValue.parse(bytes) else {
        require(false, "canonical text for what the parser refuses: \(show(bytes))")
        return nil
    }
    guard let again = try? JSONValue.parse(text) else {
        require(false, "canonical text is not JSON: \(show(bytes)) -> \(show(text))")
        return nil
    }
    require(again == value, "canonical text changed the value: \(show(bytes)) -> \(show(text))")
    require(CanonicalJSON.canonical(text) == text, "not its own canonical text: \(show(text))")
    return (text, value)
}

private func show(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self).debugDescription }
