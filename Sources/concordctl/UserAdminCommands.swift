import ArgumentParser
import ConcordAuth
import ConcordCell
import ConcordModels
import ConcordStorage
import Foundation

/// Operators' everyday account commands. Accounts live in their home cell (the cell their id
/// names); list and search look in every cell unless --cell narrows it.
extension UserCommands {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists accounts (all cells, or --cell), by id; --search narrows by name.")
        @OptionGroup var options: CellOptions
        @Option(help: "Only accounts whose username or display name contains this (case-insensitive).") var search: String?
        @Option(help: "Accounts after this id (for the next page).") var after: String?
        @Option(help: "At most this many (1-1000).") var limit: Int = 100

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit is 1 to 1000") }
        }

        func run() async throws {
            let after = try self.after.map { try parseID($0, "--after") } ?? Snowflake(0)
            var rows: [AccountSummary] = []
            for cell in try options.selectedCells() {
                rows += try await withDatabase(cell) { try await $0.accountSummaries(matching: search, after: after, limit: limit) }
            }
            rows = Array(rows.sorted { $0.id < $1.id }.prefix(limit))
            if options.json { for row in rows { try report(true, row) {} }; return }
            printTable(["id", "username", "display name", "bot", "created", "state"], rows.map(\.tableRow))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shows an account: its state, tokens and workspaces in every cell.")
        @OptionGroup var options: CellOptions
        @Argument var id: String

        func run() async throws {
            let id = try parseID(self.id, "user id")
            let config = try ClusterConfig.load(path: options.config)
            let home = try homeCell(options, of: id)
            let (account, tokens) = try await withDatabase(home) { db in (try await db.accountSummary(id: id), try await db.tokens(userID: id)) }
            guard let account else { throw Refused("no account \(id) in \(home.name)") }
            var workspaces: [String: [Snowflake]] = [:]
            for cell in config.cells {
                let (member, _) = try await withDatabase(cell) { try await $0.workspaceMemberships(id) }
                if !member.isEmpty { workspaces[cell.name] = member }
            }
            let shown = AccountDetail(account: account, home_cell: home.name, tokens: tokens.map(TokenRow.init), workspaces: workspaces)
            if options.json { return try report(true, shown) {} }
            printTable(["id", "username", "display name", "bot", "created", "state"], [account.tableRow])
            print("home cell: \(home.name); active tokens: \(tokens.filter { $0.revokedAt == nil }.count) of \(tokens.count)")
            for (cell, ids) in workspaces.sorted(by: { $0.key < $1.key }) {
                print("workspaces in \(cell): \(ids.map(\.description).joined(separator: ", "))")
            }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stops an account logging in and revokes its tokens (reactivate undoes the first).")
        @OptionGroup var options: CellOptions
        @Argument var id: String
        func run() async throws { try await setDeactivated(options, id, true) }
    }

    struct Reactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lets a deactivated account log in again (with a new login; old tokens stay revoked).")
        @OptionGroup var options: CellOptions
        @Argument var id: String
        func run() async throws { try await setDeactivated(options, id, false) }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reset-password",
            abstract: "Sets a person's password (a new random one, printed once, unless --password) and revokes their tokens.")
        @OptionGroup var options: CellOptions
        @Argument var id: String
        @Option(help: "The new password (8-72 characters).") var password: String?

        func run() async throws {
            let id = try parseID(self.id, "user id")
            let home = try homeCell(options, of: id)
            let password = try await withDomain(cell: home) { try await $0.resetPassword(id, to: self.password) }
            try report(options.json, ["id": id.description, "password": self.password == nil ? password : "(as given)"]) {
                print(self.password == nil ? "new password (shown once): \(password)" : "password set")
                print("every token of \(id) is revoked")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erases a person in every cell: their messages (deleted, so clients and replicas hear of it), memberships, tokens and profile (a tombstone stays).")
        @OptionGroup var options: CellOptions
        @Argument var id: String
        @OptionGroup var confirmation: Confirmation

        func validate() throws { try confirmation.require("erasing a person") }

        func run() async throws {
            let id = try parseID(self.id, "user id")
            let config = try ClusterConfig.load(path: options.config)
            let home = try homeCell(options, of: id)
            // Nothing is touched while the person still owns a workspace anywhere.
            for cell in config.cells {
                let owned = try await withDatabase(cell) { try await $0.workspaceMemberships(id).owner }
                if !owned.isEmpty {
                    throw Refused("\(id) owns workspaces \(owned.map(\.description).joined(separator: ", ")) in \(cell.name): transfer or delete them first")
                }
            }
            // No logins or sessions while their data goes; the home cell's profile goes last.
            try await withDomain(cell: home) { try await $0.setDeactivated(id, true) }
            let progress = ProgressLine(json: options.json)
            var erasures: [CellDomain.Erasure] = []
            for (index, cell) in (config.cells.filter { $0.id != home.id } + [home]).enumerated() {
                progress.update("erasing", done: index, total: config.cells.count, cell.name)
                erasures.append(try await withDomain(cell: cell) { try await $0.erase(id) })
            }
            progress.end()
            if options.json { for erasure in erasures { try report(true, erasure) {} }; return }
            printTable(["cell", "messages deleted", "workspaces left", "profile erased", "tokens revoked"], erasures.map {
                [$0.cell, String($0.messages_deleted), String($0.workspaces_left), String($0.profile_erased), String($0.tokens_revoked)]
            })
        }
    }
}

extension TokenCommands {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists a user's tokens (ids, kinds, when made and revoked; never the tokens).")
        @OptionGroup var options: CellOptions
        @Option(help: "The user id.") var user: String

        func run() async throws {
            let id = try parseID(user, "--user")
            let tokens = try await withDatabase(try homeCell(options, of: id)) { try await $0.tokens(userID: id) }.map(TokenRow.init)
            if options.json { for token in tokens { try report(true, token) {} }; return }
            printTable(["id", "kind", "created", "revoked"], tokens.map { [$0.id.description, $0.kind, $0.created_at, $0.revoked_at ?? ""] })
        }
    }
}

/// `--yes`, which a command that cannot be undone asks for.
struct Confirmation: ParsableArguments {
    @Flag(help: "Yes, do it (it cannot be undone).") var yes = false

    func require(_ action: String) throws {
        if !yes { throw ValidationError("\(action) cannot be undone: add --yes") }
    }
}

/// A command that cannot do what it was asked, said without the usage text (the arguments were fine).
struct Refused: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The cell an account is homed in (its id says which).
func homeCell(_ options: CellOptions, of id: Snowflake) throws -> ClusterConfig.Cell {
    guard let cell = try ClusterConfig.load(path: options.config).cell(id: id.cell) else {
        throw ValidationError("\(id) names cell \(id.cell), which the config does not have")
    }
    return cell
}

private func setDeactivated(_ options: CellOptions, _ text: String, _ deactivated: Bool) async throws {
    let id = try parseID(text, "user id")
    try await withDomain(cell: try homeCell(options, of: id)) { try await $0.setDeactivated(id, deactivated) }
    try report(options.json, ["id": id.description, "deactivated": String(deactivated)]) {
        print(deactivated ? "\(id) is deactivated; its tokens are revoked" : "\(id) may log in again")
    }
}

struct AccountDetail: Encodable, Sendable {
    var account: AccountSummary
    var home_cell: String
    var tokens: [TokenRow]
    var workspaces: [String: [Snowflake]]
}

struct TokenRow: Encodable, Sendable {
    var id: Snowflake
    var kind: String
    var created_at: String
    var revoked_at: String?
    init(_ record: TokenRecord) {
        id = record.id
        kind = record.kind == Int(TokenClaims.Kind.bot.rawValue) ? "bot" : "user"
        created_at = DiscordTimestamp.string(from: record.createdAt)
        revoked_at = record.revokedAt.map { DiscordTimestamp.string(from: $0) }
    }
}

extension AccountSummary {
    var tableRow: [String] {
        [id.description, username, global_name ?? "", String(bot), created_at, erased ? "erased" : deactivated ? "deactivated" : "active"]
    }
}
