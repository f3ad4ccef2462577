import CSQLite
import Foundation

/// A failed archive operation (SQLite, zstd, a checksum), with what went wrong.
public struct ArchiveError: Error, CustomStringConvertible {
    public let description: String
}

/// One SQLite connection, used by one task at a time (archive files are written once by the
/// tier mover and then only read). Not Sendable: each reader opens its own.
final class SQLiteDatabase {
    private let handle: OpaquePointer

    init(path: String, readOnly: Bool) throws {
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        guard sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw ArchiveError(description: "cannot open \(path): \(message)")
        }
        handle = db
    }

    deinit { sqlite3_close(handle) }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw error() }
    }

    /// Runs a statement once per set of bindings (inside whatever transaction is open).
    func run(_ sql: String, _ rows: [[SQLiteValue]]) throws {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        for row in rows {
            try bind(row, to: statement)
            guard sqlite3_step(statement) == SQLITE_DONE else { throw error() }
            sqlite3_reset(statement)
        }
    }

    /// The rows a query answers, each as its columns' values.
    func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        try bind(bindings, to: statement)
        var rows: [[SQLiteValue]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return rows }
            guard step == SQLITE_ROW else { throw error() }
            rows.append((0..<sqlite3_column_count(statement)).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, column))
                case SQLITE_NULL: .null
                default: .text(String(cString: sqlite3_column_text(statement, column)))
                }
            })
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw error() }
        return statement
    }

    private func bind(_ values: [SQLiteValue], to statement: OpaquePointer) throws {
        // SQLite copies bound text at once (SQLITE_TRANSIENT), so the Swift strings may go.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let result = switch value {
            case .integer(let i): sqlite3_bind_int64(statement, position, i)
            case .text(let s): sqlite3_bind_text(statement, position, s, -1, transient)
            case .null: sqlite3_bind_null(statement, position)
            }
            guard result == SQLITE_OK else { throw error() }
        }
    }

    private func error() -> ArchiveError { ArchiveError(description: String(cString: sqlite3_errmsg(handle))) }
}

enum SQLiteValue: Equatable {
    case integer(Int64)
    case text(String)
    case null

    var integer: Int64? { if case .integer(let i) = self { i } else { nil } }
    var text: String? { if case .text(let s) = self { s } else { nil } }
}
