/// A decoded Redis reply (RESP2: Debian 12's hiredis 0.14 has no RESP3 types).
public enum RedisValue: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RedisValue])

    public var string: String? {
        switch self {
        case .status(let s): s
        case .bulk(let b): String(decoding: b, as: UTF8.self)
        case .integer(let i): String(i)
        default: nil
        }
    }
    public var integer: Int64? {
        switch self {
        case .integer(let i): i
        case .bulk, .status: string.flatMap { Int64($0) }
        default: nil
        }
    }
    public var array: [RedisValue]? { if case .array(let a) = self { return a }; return nil }
    public var isNull: Bool { self == .null }
}

/// Why a Redis call failed: the server answered with an error, or the connection is gone.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    case server(String)
    case connectionClosed
    case connectFailed(String)
    case protocolError

    public var description: String {
        switch self {
        case .server(let m): "Redis error: \(m)"
        case .connectionClosed: "Redis connection closed"
        case .connectFailed(let m): "Redis connect failed: \(m)"
        case .protocolError: "Redis protocol error"
        }
    }
}
