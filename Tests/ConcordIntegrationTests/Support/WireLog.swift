import ConcordModels
import Foundation
import Synchronization

/// What the tests receive over the wire, one JSON line each, when the environment names a file:
/// every REST answer (CONCORD_TEST_RESPONSES: method, path, status, body) and every gateway
/// dispatch (CONCORD_TEST_EVENTS: t, d). `Tests/Spec/validate_responses.py` and
/// `validate_events.py` check them against Discord's OpenAPI spec afterwards.
final class WireLog: Sendable {
    static let responses = WireLog(variable: "CONCORD_TEST_RESPONSES")
    static let events = WireLog(variable: "CONCORD_TEST_EVENTS")

    private let file: Mutex<FileHandle?>

    private init(variable: String) {
        file = Mutex({
            guard let path = ProcessInfo.processInfo.environment[variable] else { return nil }
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = FileHandle(forWritingAtPath: path)
            _ = try? handle?.seekToEnd()
            return handle
        }())
    }

    var isOn: Bool { file.withLock { $0 != nil } }

    func record(_ line: JSONValue) {
        file.withLock { handle in
            guard let handle, var bytes = try? WireJSON.encode(line) else { return }
            bytes.append(UInt8(ascii: "\n"))
            try? handle.write(contentsOf: bytes)
        }
    }

    static func recordResponse(method: String, path: String, status: Int, body: Data) {
        guard responses.isOn else { return }
        let parsed = (try? WireJSON.decode(JSONValue.self, from: body)) ?? .null
        responses.record(.object(["method": .string(method), "path": .string(path), "status": .int(Int64(status)), "body": parsed]))
    }
}
