import ConcordHTTP
import ConcordModels
import ConcordObservability
import Foundation
import Logging
import Synchronization
import Testing

/// Logs as JSON lines for shippers, and request ids as clients may send them.
@Suite("JSON logs and request ids")
struct JSONLogHandlerTests {
    @Test func eachRecordIsOneJSONObjectWithItsMetadata() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "concord.test") { label in JSONLogHandler(label: label) { line in lines.withLock { $0.append(line) } } }
        logger.logLevel = .info
        logger[metadataKey: "cell"] = "us-1"
        logger.debug("not at this level")
        logger.warning("request failed", metadata: ["request_id": "abc-123", "message": "cannot replace the message", "count": "\(3)"])
        let written = lines.withLock { $0 }
        #expect(written.count == 1 && !written[0].contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == "request failed", "metadata does not overwrite the record's own fields")
        #expect(object["level"] as? String == "warning" && object["logger"] as? String == "concord.test")
        #expect(object["request_id"] as? String == "abc-123" && object["cell"] as? String == "us-1" && object["count"] as? String == "3")
        #expect((object["time"] as? String).flatMap { ISO8601DateFormatter().date(from: String($0.prefix(19)) + "Z") } != nil)
    }

    @Test func aClientsRequestIdIsKeptWhenSound() {
        #expect(RequestID.from("trace-42.a_b") == "trace-42.a_b")
        for unsound in [nil, "", String(repeating: "x", count: 65), "has space", "new\nline", "é"] {
            let made = RequestID.from(unsound)
            #expect(made.count == 32 && made.allSatisfy(\.isHexDigit) && made != unsound, "\(String(describing: unsound))")
        }
    }

    @Test func aTraceparentNamesTheRequestAndCallsCarryOne() {
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        #expect(RequestID.from(nil, traceparent: parent) == "0af7651916cd43dd8448eb211c80319c")
        #expect(RequestID.from("mine", traceparent: parent) == "mine", "X-Request-Id first")
        for bad in ["01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
                    "00-" + String(repeating: "0", count: 32) + "-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01", ""] {
            #expect(RequestID.traceID(of: bad) == nil, "\(bad)")
        }
        // Hostile headers: a NUL, 10 MB, non-ASCII digits; each gives a fresh id of our own.
        let huge = "00-" + String(repeating: "a", count: 10 << 20) + "-b7ad6b7169203331-01"
        for hostile in ["00-0af7651916cd43dd8448eb211c80319\u{0}-b7ad6b7169203331-01", huge, "00-٠af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-ａf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"] {
            let made = RequestID.from(hostile, traceparent: hostile)
            #expect(made.count == 32 && made.allSatisfy(\.isHexDigit) && RequestID.traceID(of: hostile) == nil)
        }
        // An outgoing call's traceparent keeps a hex id as its trace id, and hashes any other id
        // to the same trace id every time, with a new span each call.
        let hexID = "0af7651916cd43dd8448eb211c80319c"
        #expect(RequestID.traceID(of: RequestID.traceparent(for: hexID)) == hexID)
        let (first, second) = (RequestID.traceparent(for: "client-id-7"), RequestID.traceparent(for: "client-id-7"))
        #expect(RequestID.traceID(of: first) != nil && RequestID.traceID(of: first) == RequestID.traceID(of: second) && first != second)
        #expect(RequestID.traceID(of: RequestID.traceparent(for: "client-id-8")) != RequestID.traceID(of: first))
        #expect(RequestID.$current.withValue("x") { RequestID.outgoingHeaders.map(\.0) } == ["X-Request-Id", "traceparent"])
        #expect(RequestID.outgoingHeaders.isEmpty)
    }
}
