import Foundation

/// One place that decides how Concord reads and writes JSON on the wire.
public enum WireJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        // Sorted keys: the same value always has the same bytes (cached pages compare equal to fresh ones).
        e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return e
    }
    public static func encode<T: Encodable>(_ value: T) throws -> Data { try encoder().encode(value) }
    public static func encodeString<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
    /// A message, written without the encoder (`Message.wireJSON`): the same bytes.
    public static func encode(_ message: Message) throws -> Data { Data(try message.wireJSON()) }
    public static func encodeString(_ message: Message) throws -> String { String(decoding: try message.wireJSON(), as: UTF8.self) }
    /// An array the encoder writes, "[]" without it when empty (a send's embeds, components and
    /// attachments mostly are).
    public static func encodeString<T: Encodable>(_ values: [T]) throws -> String {
        values.isEmpty ? "[]" : String(decoding: try encode(values), as: UTF8.self)
    }
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }

    /// Decodes a request body; malformed JSON (by RFC 8259, strictly), a string holding U+0000
    /// and wrong types become Discord's 400 errors.
    public static func decodeBody<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard !data.isEmpty else { throw APIError.invalidJSON }
        try JSONSyntax.validate(data)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw APIError.invalidForm(formErrors(for: error))
        } catch {
            throw APIError.invalidJSON
        }
    }

    static func formErrors(for error: DecodingError) -> FormErrors {
        func path(_ keys: [any CodingKey]) -> [String] {
            keys.map { $0.intValue.map(String.init) ?? $0.stringValue }
        }
        switch error {
        case .typeMismatch(let type, let ctx):
            if ctx.codingPath.isEmpty { return .single([], code: "DICT_TYPE_CONVERT", message: "Only dictionaries may be used in a DictType") }
            return .single(path(ctx.codingPath), code: "BASE_TYPE_INVALID", message: "Value is not a valid \(type).")
        case .valueNotFound(_, let ctx):
            return .single(path(ctx.codingPath), code: "BASE_TYPE_REQUIRED", message: "This field is required")
        case .keyNotFound(let key, let ctx):
            return .single(path(ctx.codingPath + [key]), code: "BASE_TYPE_REQUIRED", message: "This field is required")
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty { return .single([], code: "JSON_INVALID", message: "The request body contains invalid JSON.") }
            return .single(path(ctx.codingPath), code: "BASE_TYPE_INVALID", message: ctx.debugDescription)
        @unknown default:
            return .single([], code: "BASE_TYPE_INVALID", message: "Invalid value.")
        }
    }
}

extension APIError {
    /// Discord's error body: `{"code":…,"message":…}` plus `errors` for form errors and
    /// `retry_after`/`global` for 429s.
    public func jsonBody() -> Data {
        var object: [String: JSONValue] = ["code": .int(Int64(code)), "message": .string(message)]
        if let errors { object["errors"] = errors.jsonValue }
        if let retryAfter {
            object["retry_after"] = .double(retryAfter)
            object["global"] = .bool(global)
        }
        return (try? WireJSON.encode(JSONValue.object(object))) ?? Data()
    }
}

extension FormErrors {
    var jsonValue: JSONValue {
        var root: [String: JSONValue] = [:]
        for entry in entries {
            insert(entry, at: entry.path[...], into: &root)
        }
        return .object(root)
    }

    /// Each field's error as Discord's OpenAPI spec types it: an integer `code` (50035, Invalid
    /// Form Body; Discord's own answers put a name such as BASE_TYPE_REQUIRED there, which the
    /// spec does not allow) and the `message`, which says what the name would.
    private func insert(_ entry: Entry, at path: ArraySlice<String>, into node: inout [String: JSONValue]) {
        let item = JSONValue.object(["code": .int(Int64(APIError.invalidFormCode)), "message": .string(entry.message)])
        guard let head = path.first else {
            var list = node["_errors"]?.arrayValue ?? []
            list.append(item)
            node["_errors"] = .array(list)
            return
        }
        var child: [String: JSONValue] = [:]
        if case .object(let existing) = node[head] { child = existing }
        insert(entry, at: path.dropFirst(), into: &child)
        node[head] = .object(child)
    }
}

extension APIError {
    /// Rebuilds an error from a response body (used by the edge to pass cell errors through
    /// and by tests); nil when the body is not Discord's error shape.
    public static func fromResponse(status: Int, body: Data) -> (code: Int, message: String)? {
        guard let value = try? WireJSON.decode(JSONValue.self, from: body),
              let code = value["code"]?.intValue, let message = value["message"]?.stringValue else { return nil }
        return (Int(code), message)
    }
}
