import CZstd
import Crypto
import Foundation

/// Archive files are stored as one zstd frame (`zstd -d file.sqlite.zst` gives the SQLite
/// database back) and identified by the SHA-256 of the stored bytes.
public enum ArchiveCompression {
    /// A middle level: archives are written once and read many times, and level 9 already
    /// takes most of what higher levels would.
    static let level: Int32 = 9

    public static func compress(_ data: Data) throws -> Data {
        var output = Data(count: ZSTD_compressBound(data.count))
        let written = output.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { input in
                ZSTD_compress(out.baseAddress, out.count, input.baseAddress, input.count, level)
            }
        }
        guard ZSTD_isError(written) == 0 else { throw ArchiveError(description: "zstd: \(String(cString: ZSTD_getErrorName(written)))") }
        output.count = written
        return output
    }

    public static func decompress(_ data: Data) throws -> Data {
        let size = data.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN / _ERROR are the two largest values.
        guard size < UInt64.max - 1, size < 1 << 34 else { throw ArchiveError(description: "not a zstd frame with a known size") }
        var output = Data(count: Int(size))
        let read = output.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { input in ZSTD_decompress(out.baseAddress, out.count, input.baseAddress, input.count) }
        }
        guard ZSTD_isError(read) == 0, read == Int(size) else { throw ArchiveError(description: "corrupt zstd frame") }
        return output
    }

    public static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
