import Foundation

/// A relay's read held open at the source: the source writes each page into the answer as soon
/// as it numbers events for the relay's destination, so an event crosses the link once, one way,
/// instead of waiting for the relay's next read to get there (half a round trip on average).
/// A page is framed as a line `<through> <head> <length>\n` and then `length` bytes: its events,
/// the JSON array a single read answers.
public enum RelayPageStream {
    public static let contentType = "application/x-concord-relay-pages"

    public static func frame(events: Data, through: Int64, head: Int64) -> Data {
        var frame = Data("\(through) \(head) \(events.count)\n".utf8)
        frame.append(events)
        return frame
    }

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Takes the answer's bytes however they arrive, and gives back its pages whole.
    public struct Reader {
        private var buffer: [UInt8] = []
        private var start = 0
        /// A frame's line holds three numbers: anything longer is not a frame.
        private static let longestLine = 64

        public init() {}

        /// Whether bytes of an unfinished frame are waiting (an answer ending here was cut short).
        public var holdsPartOfAFrame: Bool { start < buffer.count }

        public mutating func append(_ bytes: some Collection<UInt8>) {
            if start > 0, start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            buffer.append(contentsOf: bytes)
        }

        /// The next whole page, or nil until all of it has come.
        public mutating func next() throws -> RelayPage? {
            let unread = buffer[start...]
            guard let newline = unread.prefix(Self.longestLine + 1).firstIndex(of: UInt8(ascii: "\n")) else {
                if unread.count > Self.longestLine { throw Malformed(description: "a relay page's frame line is too long") }
                return nil
            }
            let numbers = buffer[start..<newline].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
                .map { Int64(String(decoding: $0, as: UTF8.self)) }
            guard numbers.count == 3, let through = numbers[0], let head = numbers[1], let length = numbers[2],
                  through >= 0, head >= 0, (0...Int64(InternalAPI.pageLimit)).contains(length) else {
                throw Malformed(description: "a relay page's frame line is not three numbers in range")
            }
            let body = newline + 1
            guard buffer.count - body >= Int(length) else { return nil }
            let json = Data(buffer[body..<body + Int(length)])
            start = body + Int(length)
            return try RelayPage(json: json, through: through, head: head)
        }
    }
}
