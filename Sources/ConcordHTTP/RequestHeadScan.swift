/// Follows a connection's first request head as its bytes arrive, read by read, without
/// keeping any of them: where the request line ends (its CRLF) and where the head ends (the
/// blank line), either of which may be split across reads. One pass over each byte, no copy.
struct RequestHeadScan {
    /// Bytes of the head seen so far (of the whole head once it has ended).
    private(set) var headBytes = 0
    /// The request line's length, once its CRLF has come.
    private(set) var requestLineLength: Int?
    /// The head's length, blank line included, once that has come.
    private(set) var headLength: Int?
    /// How much of "\r\n\r\n" the bytes seen so far end with (0–3).
    private var matched = 0

    /// Takes the next bytes read (those after the head, once it has ended, are not looked at).
    mutating func read(_ bytes: UnsafeRawBufferPointer) {
        guard headLength == nil else { return }
        for (offset, byte) in bytes.enumerated() {
            switch (matched, byte) {
            case (0, 13), (2, 13): matched += 1
            case (1, 10), (3, 10):
                matched += 1
                if matched == 2, requestLineLength == nil { requestLineLength = headBytes + offset - 1 }
                if matched == 4 {
                    headBytes += offset + 1
                    headLength = headBytes
                    return
                }
            case (_, 13): matched = 1
            default: matched = 0
            }
        }
        headBytes += bytes.count
    }
}
