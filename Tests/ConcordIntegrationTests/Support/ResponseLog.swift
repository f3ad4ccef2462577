import ConcordModels
import Foundation
import Synchronization

/// Every REST answer the tests receive, one JSON line each (method, path, status, body), when
/// CONCORD_TEST_RESPONSES names a file: `Tests/Spec/validate_responses.py` checks them against
/// Discord's OpenAPI spec afterwards.
enum ResponseLog {
    private static let file: Mutex<FileHandle?> = Mutex({
        guard let path = ProcessInfo.processInfo.environment["CONCORD_TEST_RESPONSES"] else { return nil }
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
        return handle
    }())

    static func record(method: String, path: String, status: Int, body: Data) {
        file.withLock { handle in
            guard let handle else { return }
            let parsed = (try? WireJSON.decode(JSONValue.self, from: body)) ?? .null
            let line: JSONValue = .object(["method": .string(method), "path": .string(path), "status": .int(Int64(status)), "body": parsed])
            guard var bytes = try? WireJSON.encode(line) else { return }
            bytes.append(UInt8(ascii: "\n"))
            try? handle.write(contentsOf: bytes)
        }
    }
}
