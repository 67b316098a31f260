/// A `pattern` or `patternProperties` regular expression. JSON Schema asks for ECMA-262;
/// this is Swift's `Regex` (the standard library's engine, no Foundation), made to behave like
/// ECMA-262 where the two differ most: Unicode scalars, not grapheme clusters, are the unit;
/// `\d`, `\w` and `\b` are ASCII-only. A pattern matches anywhere in the string (not anchored).
/// Limits (README.md, "Argument validation"): syntax that only ECMA-262 has (`[^]`, `\cX`
/// outside letters, lookbehind quirks) may fail to compile, and Swift-only syntax is accepted.
struct ECMAPattern: @unchecked Sendable {
    let source: String
    private let regex: Regex<AnyRegexOutput>

    init(_ source: String, at location: String) throws(SchemaError) {
        self.source = source
        do {
            regex = try Regex(source)
                .matchingSemantics(.unicodeScalar)
                .asciiOnlyDigits()
                .asciiOnlyWordCharacters()
        } catch {
            throw SchemaError(location, "not a valid regular expression: \(source)")
        }
    }

    /// Does the pattern match somewhere in `s`?
    func matches(_ s: String) -> Bool {
        (try? regex.firstMatch(in: s)).flatMap { $0 } != nil
    }
}
