import ArgumentParser
import ConcordCell
import ConcordModels

struct CreatedAccount: Encodable {
    var id: Snowflake
    var username: String
    var bot: Bool
    var token: String
}

/// Creates a person (with an optional password) or a bot and prints it with its first token.
func createAccount(_ options: CellOptions, name: String, password: String?, bot: Bool, owner: Snowflake?) async throws {
    let (user, token) = try await withDomain(options) { try await $0.createAccount(username: name, password: password, bot: bot, ownerID: owner) }
    let account = CreatedAccount(id: user.id, username: user.username, bot: bot, token: token)
    if options.json { return try printJSON(account) }
    printTable(["id", "username", "bot"], [[account.id.description, account.username, String(account.bot)]])
    print("\ntoken (shown once; send it as `Authorization: \(account.bot ? "Bot " : "")<token>`):\n\(account.token)")
}

struct UserCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "People's accounts.",
                                                    subcommands: [Create.self, List.self, Show.self, Deactivate.self, Reactivate.self, ResetPassword.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Creates a user and prints a token for them.")
        @OptionGroup var options: CellOptions
        @Argument var username: String
        @Option(help: "A password, so they can also log in with POST /auth/login.")
        var password: String?

        func run() async throws {
            try await createAccount(options, name: username, password: password, bot: false, owner: nil)
        }
    }
}

struct BotCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bot", abstract: "Bot accounts.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Creates a bot and prints its bot token.")
        @OptionGroup var options: CellOptions
        @Argument var name: String
        @Option(help: "The user id of the bot's owner.")
        var owner: String?

        func run() async throws {
            try await createAccount(options, name: name, password: nil, bot: true, owner: try owner.map { try parseID($0, "--owner") })
        }
    }
}

struct TokenCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Tokens.", subcommands: [List.self, Revoke.self])

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revokes a token (by value or id) or all of a user's tokens.")
        @OptionGroup var options: CellOptions
        @Option(help: "The token itself.") var token: String?
        @Option(help: "The token's id.") var id: String?
        @Option(help: "Revoke every token of this user id.") var user: String?

        func validate() throws {
            if [token, id, user].compactMap({ $0 }).count != 1 { throw ValidationError("give exactly one of --token, --id, --user") }
        }

        func run() async throws {
            let token = self.token
            let id = try self.id.map { try parseID($0, "--id") }
            let user = try self.user.map { try parseID($0, "--user") }
            let revoked = try await withDomain(options) { try await $0.revokeTokens(id: id, token: token, userID: user) }
            if options.json { return try printJSON(["revoked": revoked]) }
            print(revoked.isEmpty ? "no active token matched" : "revoked \(revoked.count) token(s): \(revoked.map(\.description).joined(separator: ", "))")
        }
    }
}
