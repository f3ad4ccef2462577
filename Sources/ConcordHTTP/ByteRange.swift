/// One byte range of a `Range: bytes=…` header (RFC 9110): `a-b`, `a-` or `-n` (the last n
/// bytes), clamped to the size. A list of ranges is read as its first range; nil means the
/// range cannot be satisfied (or is not a byte range).
public enum ByteRange {

    public static func parse(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let first = header.dropFirst(6).split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let ends = first.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard ends.count == 2 else { return nil }
        if ends[0].isEmpty {
            guard let suffix = Int(ends[1]), suffix > 0 else { return nil }
            return max(0, size - suffix)...(size - 1)
        }
        guard let start = Int(ends[0]), start >= 0, start < size else { return nil }
        if ends[1].isEmpty { return start...(size - 1) }
        guard let end = Int(ends[1]), end >= start else { return nil }
        return start...min(end, size - 1)
    }
}
