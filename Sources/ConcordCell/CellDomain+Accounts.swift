import ConcordAuth
import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    /// Registers a person and returns their first token.
    public func register(_ request: RegisterRequest) async throws -> TokenResponse {
        try Validation.validate(request)
        let hash = try await passwords.hash(request.password)
        let user = User(id: ids.next(), username: request.username, globalName: request.global_name, bot: false)
        guard try await db.insertUser(user, passwordHash: hash, ownerID: nil) else {
            throw APIError.invalidForm(.single(["username"], code: "USERNAME_ALREADY_TAKEN", message: "Username is unavailable. Try adding numbers, letters, underscores _ , or periods."))
        }
        return TokenResponse(token: try await issueToken(for: user), userID: user.id)
    }

    /// An unknown name costs the same hash as a wrong password. A hash made with weaker
    /// parameters than today's is replaced once the password has been checked against it.
    public func login(_ request: LoginRequest) async throws -> TokenResponse {
        let found = try await db.credentials(username: request.login)
        guard try await passwords.verify(request.password, against: found?.1), let (user, hash) = found else {
            throw APIError.invalidLogin
        }
        if passwords.hasher.isWeaker(hash) {
            try await db.setPasswordHash(userID: user.id, to: try await passwords.hash(request.password), replacing: hash)
        }
        return TokenResponse(token: try await issueToken(for: user), userID: user.id)
    }

    /// Mints a token for a user and records its fingerprint.
    public func issueToken(for user: User) async throws -> String {
        let tokenID = ids.next()
        let kind: TokenClaims.Kind = user.bot ? .bot : .user
        let token = tokens.mint(userID: user.id, tokenID: tokenID, kind: kind)
        try await db.insertToken(id: tokenID, userID: user.id, kind: Int(kind.rawValue), fingerprint: TokenAuthority.fingerprint(token))
        return token
    }

    /// Creates a user as an operator (no password: they log in with the printed token), or a
    /// bot when `bot` is true, owned by `ownerID` if given.
    public func createAccount(username: String, password: String?, bot: Bool, ownerID: Snowflake?) async throws -> (User, String) {
        var errors = FormErrors()
        errors.lengthBetween(username, Limits.username, ["username"])
        try errors.throwIfAny()
        let user = User(id: ids.next(), username: username, globalName: nil, bot: bot)
        var hash: String?
        if let password { hash = try await passwords.hash(password) }
        guard try await db.insertUser(user, passwordHash: hash, ownerID: ownerID) else {
            throw APIError.invalidForm(.single(["username"], code: "USERNAME_ALREADY_TAKEN", message: "Username is unavailable."))
        }
        return (user, try await issueToken(for: user))
    }

    /// Revokes tokens (one by id or by value, or all of a user's) in PostgreSQL and in the
    /// Redis set edges check; returns the ids revoked.
    public func revokeTokens(id: Snowflake? = nil, token: String? = nil, userID: Snowflake? = nil) async throws -> [Snowflake] {
        let revoked = try await db.revokeTokens(id: id, fingerprint: token.map(TokenAuthority.fingerprint), userID: userID)
        guard !revoked.isEmpty else { return revoked }
        // PostgreSQL has it now. If Redis cannot take it (full, unreachable), its set is marked
        // incomplete, so edges ask this cell instead of believing the set.
        do {
            _ = try await redis.send(["SADD", Topics.revokedTokens(cell: cellName)] + revoked.map(\.description))
        } catch {
            logger.warning("revoked tokens not written to Redis; edges will ask the cell", metadata: ["error": "\(error)"])
            _ = try? await redis.send("DEL", Topics.revokedTokensLoaded(cell: cellName))
        }
        _ = try? await redis.send("PUBLISH", Topics.revocations(cell: cellName), revoked.map(\.description).joined(separator: ","))
        return revoked
    }

    /// Copies every revoked token id into Redis (after a Redis restart or flush), then marks the
    /// set complete.
    public func syncRevokedTokens() async throws -> Int {
        let revoked = try await db.revokedTokenIDs()
        for chunk in stride(from: 0, to: revoked.count, by: 500) {
            let part = revoked[chunk..<min(chunk + 500, revoked.count)]
            _ = try await redis.send(["SADD", Topics.revokedTokens(cell: cellName)] + part.map(\.description))
        }
        _ = try await redis.send("SET", Topics.revokedTokensLoaded(cell: cellName), "1")
        return revoked.count
    }

    /// Whether Redis still holds the complete revoked set (it has not been flushed or replaced).
    public func revokedTokensLoaded() async throws -> Bool {
        try await redis.send("EXISTS", Topics.revokedTokensLoaded(cell: cellName)).integer == 1
    }

    public func currentUser(_ caller: Caller) async throws -> User {
        guard let user = try await db.user(id: caller.userID) else { throw APIError.unauthorized }
        return user
    }

    public func user(_ id: Snowflake) async throws -> User {
        guard let user = try await db.user(id: id) else { throw APIError.unknownUser }
        return user
    }

    /// The bot's application, as `GET /oauth2/applications/@me` returns it.
    public func application(_ caller: Caller) async throws -> Application {
        guard caller.isBot else { throw APIError.onlyBots }
        let bot = try await currentUser(caller)
        let owner = try await db.botOwner(botID: bot.id)
        let verifyKey = String(TokenAuthority.fingerprint("application:\(bot.id)").prefix(64))
        return Application(id: bot.id, name: bot.username, verifyKey: verifyKey, owner: owner ?? bot, bot: bot)
    }
}
