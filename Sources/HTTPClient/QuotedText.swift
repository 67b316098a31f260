/// Server-supplied text (a status line, a header value, an error message) as it may appear
/// inside our errors and logs: at most `max` characters, control characters (CR, LF, ESC, …)
/// escaped so a hostile server cannot forge log lines or terminal sequences.
public func quotedText<S: StringProtocol>(_ text: S, max: Int = 80) -> String {
    var out = ""
    for s in text.prefix(max).unicodeScalars {
        if s.value < 0x20 || s.value == 0x7f || (0x80..<0xa0).contains(s.value) {
            out += s.escaped(asASCII: true)
        } else {
            out.unicodeScalars.append(s)
        }
    }
    return out
}
