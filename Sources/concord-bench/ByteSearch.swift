import Glibc

/// Finding bytes in received bytes, for the load generator's readers (frames and response heads).
enum ByteSearch {
    /// Where `needle` ends in `bytes`: memchr for its first byte, memcmp for the rest (this
    /// runs once per received frame).
    static func end(of needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, let first = needle.first else { return nil }
        return needle.withUnsafeBytes { n -> Int? in
            var offset = 0
            while offset + n.count <= bytes.count {
                guard let hit = memchr(base + offset, Int32(first), bytes.count - offset - n.count + 1) else { return nil }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, n.baseAddress!, n.count) == 0 { return at + n.count }
                offset = at + 1
            }
            return nil
        }
    }
}
