import ConcordModels
import Foundation
import Testing

/// A read held open at a source carries pages framed one after another; the relay reads them
/// back whole however the bytes arrive, and refuses anything that is not a frame.
@Suite("Relay page streams")
struct RelayPageStreamTests {
    static let pages: [(json: String, through: Int64, head: Int64)] = [
        ("[]", 40, 40),
        (#"[{"seq":42,"t":"MESSAGE_CREATE","d":{"content":"a\nb"}}]"#, 45, 47),
        (#"[{"seq":46},{"seq":47}]"#, 47, 47),
    ]

    @Test func pagesReadBackWholeHoweverTheBytesArrive() throws {
        let bytes = Self.pages.reduce(into: Data()) { $0.append(RelayPageStream.frame(events: Data($1.json.utf8), through: $1.through, head: $1.head)) }
        for piece in [1, 2, 3, 7, 16, 64, bytes.count] {
            var reader = RelayPageStream.Reader()
            var read: [RelayPage] = []
            for start in stride(from: 0, to: bytes.count, by: piece) {
                reader.append(bytes[start..<min(start + piece, bytes.count)])
                while let page = try reader.next() { read.append(page) }
            }
            #expect(!reader.holdsPartOfAFrame)
            #expect(read.map(\.through) == [40, 45, 47] && read.map(\.head) == [40, 47, 47], "pieces of \(piece)")
            #expect(read.map(\.seqs) == [[], [42], [46, 47]], "pieces of \(piece)")
            #expect(read.map { String(decoding: $0.json, as: UTF8.self) } == Self.pages.map(\.json), "pieces of \(piece)")
        }
    }

    @Test func whatIsNotAFrameIsRefused() {
        for bad in ["1 2\n[]", "a b 2\n[]", "-1 0 2\n[]", "1 -2 2\n[]", "1 2 -2\n[]", "1 2 3 4\n[]", "1  2 2\n[]",
                    "1 2 \(Int64.max)\n", "1 2 18446744073709551615\n", "1 2 2\n{}", String(repeating: "9", count: 65)] {
            var reader = RelayPageStream.Reader()
            reader.append(Data(bad.utf8))
            #expect(throws: (any Error).self, "\(bad.prefix(40))") { try reader.next() }
        }
        // An unfinished frame is no page yet, and is known to be waiting.
        var reader = RelayPageStream.Reader()
        reader.append(Data("5 5 10\n[{\"seq\"".utf8))
        #expect((try? reader.next()) == nil)
        #expect(reader.holdsPartOfAFrame)
    }

    @Test func consecutivePagesJoinIntoOne() throws {
        func page(_ json: String, through: Int64) throws -> RelayPage { try RelayPage(json: Data(json.utf8), through: through, head: 50) }
        let joined = try page("[]", through: 3).followed(by: try page(#"[{"seq":4}]"#, through: 5))
            .followed(by: try page("[]", through: 7)).followed(by: try page(#"[{"seq":8},{"seq":9}]"#, through: 9))
        #expect(String(decoding: joined.json, as: UTF8.self) == #"[{"seq":4},{"seq":8},{"seq":9}]"#)
        #expect(joined.seqs == [4, 8, 9] && joined.through == 9 && joined.head == 50)
        #expect(String(decoding: try page("[]", through: 1).followed(by: try page("[]", through: 2)).json, as: UTF8.self) == "[]")
        var notAnArray = try page("[]", through: 1)
        notAnArray.json = Data("{}".utf8)
        #expect(throws: RelayPageStream.Malformed.self) { try notAnArray.followed(by: try page("[]", through: 2)) }
    }
}
