import ConcordAuth
import ConcordHTTP
import ConcordModels
import ConcordObservability
import ConcordStorage
import Foundation
import Hummingbird
import Logging

/// The cell's internal HTTP API: the same routes as the public REST API, reachable only by
/// holders of the cluster's internal secret (the edges). The edge has already checked token
/// revocation and rate limits; the cell verifies the token's signature again, since it cannot
/// be sure a request came through an edge.
public struct CellAPI: Sendable {
    let domain: CellDomain
    let internalSecret: String
    let uploadBytes: Int
    let metrics: NodeMetrics
    let logger: Logger

    public init(domain: CellDomain, internalSecret: String, uploadBytes: Int = Limits.uploadBytes, metrics: NodeMetrics = NodeMetrics(),
                logger: Logger = Logger(label: "concord.cell.api")) {
        self.domain = domain
        self.internalSecret = internalSecret
        self.uploadBytes = uploadBytes
        self.metrics = metrics
        self.logger = logger
    }

    /// The largest write a replica hands to a shared channel's home: the message and its files
    /// (base64, four bytes for three).
    var sharedWriteBytes: Int { uploadBytes / 3 * 4 + 2 * Limits.requestBodyBytes }

    /// Answers a request and counts it by route and status.
    public func respond(_ request: Request) async -> Response {
        let start = ContinuousClock.now
        var label = "unmatched"
        let id = RequestID.from(request.headers[.requestID], traceparent: request.headers[.traceparent])
        var response = await RequestID.$current.withValue(id) { await answer(request, label: &label) }
        response.headers[.requestID] = id
        metrics.request(route: label, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }

    private func answer(_ request: Request, label: inout String) async -> Response {
        var request = request
        do {
            guard let secret = request.headers[.concordInternal], secretsMatch(secret, internalSecret) else {
                throw APIError.unauthorized
            }
            if request.uri.path.hasPrefix(InternalAPI.Path.attachments) {
                label = "attachment"
                return try await attachment(request)
            }
            if request.uri.path.hasPrefix("/internal/") {
                label = "internal"
                return try await internalRoute(request)
            }
            let route = try RouteTable.match(method: request.method.rawValue, path: request.uri.path)
            label = route.endpoint.rawValue
            if domain.directory.movedAway(route, from: domain.cellID) != nil { throw APIError.movedAway }
            var caller: Caller?
            if !route.endpoint.isPublic {
                guard let claims = domain.tokens.authenticate(authorizationHeader: request.headers[.authorization]) else {
                    throw APIError.unauthorized
                }
                caller = Caller(claims)
            }
            let form = try await MessageForm(&request, route: route, uploadBytes: uploadBytes)
            let reason = try Self.auditReason(request.headers[.auditLogReason])
            return try await CellDomain.$auditReason.withValue(reason) {
                try await handle(route, caller: caller, body: form.json, query: QueryParameters(request), uploads: form.uploads,
                                 baseURL: request.headers[.concordEdgeURL] ?? "")
            }
        } catch let error as APIError {
            return Self.refusal(error)
        } catch where error.sqlState == MovedWorkspace.refusedWrite {
            // The workspace moved while this request was on its way (or waited out the move's freeze).
            return Self.refusal(.movedAway)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)", "request_id": "\(RequestID.current ?? "")"])
            return JSONResponse.error(.internalError)
        }
    }

    /// The error as a client sees it, and for the edge or cell that asked, whether it may route
    /// around it (another cell may serve what this one refused).
    static func refusal(_ error: APIError) -> Response {
        var response = JSONResponse.error(error)
        if let refusal = CellRefusal(error) { response.headers[.concordRefusal] = refusal.rawValue }
        return response
    }

    /// `uploads` and `baseURL`: a message's files and the edge they came through.
    func handle(_ route: Route, caller: Caller?, body: Data, query: QueryParameters, uploads: [Int: Upload] = [:],
                baseURL: String = "") async throws -> Response {
        let d = domain
        func me() throws -> Caller {
            guard let caller else { throw APIError.unauthorized }
            return caller
        }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try WireJSON.decodeBody(type, from: body) }
        /// A body the endpoint may leave out: `empty` stands for it then.
        func decode<T: Decodable>(_ type: T.Type, orIfEmpty empty: @autoclosure () -> T) throws -> T {
            body.isEmpty ? empty() : try decode(type)
        }
        switch route.endpoint {
        case .register:
            return try JSONResponse.ok(try await d.register(try decode(RegisterRequest.self)), status: .created)
        case .login:
            return try JSONResponse.ok(try await d.login(try decode(LoginRequest.self)))
        case .getCurrentUser:
            return try JSONResponse.ok(CurrentUser(try await d.currentUser(try me())))
        case .getUser:
            return try JSONResponse.ok(try await d.user(route.userID!))
        case .getCurrentUserGuilds:
            return try JSONResponse.ok(try await d.currentUserGuilds(try me()))
        case .getApplication:
            return try JSONResponse.ok(try await d.application(try me()))
        case .listDMs:
            return try JSONResponse.ok(try await d.dmChannels(try me()))
        case .createDM:
            return try JSONResponse.ok(try await d.openDM(try decode(DMCreateRequest.self), caller: try me()))
        case .getGateway, .getGatewayBot, .listEdges, .listCommands, .overwriteCommands, .listGuildCommands, .overwriteGuildCommands, .listDefaultSounds:
            throw APIError.notFound
        case .createGuild:
            return try JSONResponse.ok(try await d.createWorkspace(try decode(GuildCreateRequest.self), ownerID: try me().userID), status: .created)
        case .getGuild:
            return try JSONResponse.ok(try await d.guild(route.guildID!, caller: try me(), withCounts: query.bool("with_counts")))
        case .modifyGuild:
            return try JSONResponse.ok(try await d.modifyGuild(route.guildID!, try decode(GuildModifyRequest.self), caller: try me()))
        case .deleteGuild:
            try await d.deleteGuild(route.guildID!, caller: try me())
            return JSONResponse.noContent()
        case .listChannels:
            return try JSONResponse.ok(try await d.channels(route.guildID!, caller: try me()))
        case .createChannel:
            return try JSONResponse.ok(try await d.createChannel(route.guildID!, try decode(ChannelCreateRequest.self), caller: try me()), status: .created)
        case .getChannel:
            return try JSONResponse.ok(try await d.channel(route.channelID!, caller: try me()))
        case .modifyChannel:
            return try JSONResponse.ok(try await d.modifyChannel(route.channelID!, try decode(ChannelModifyRequest.self), caller: try me()))
        case .deleteChannel:
            return try JSONResponse.ok(try await d.deleteChannel(route.channelID!, caller: try me()))
        case .listMembers:
            let limit = try query.int("limit", default: 1, in: Limits.memberPageSize)
            return try JSONResponse.ok(try await d.members(route.guildID!, caller: try me(), limit: limit,
                                                           after: try query.snowflake("after") ?? Snowflake(0)))
        case .getMember:
            return try JSONResponse.ok(try await d.member(route.guildID!, userID: route.userID!, caller: try me()))
        case .createInvite:
            let request = try decode(InviteCreateRequest.self, orIfEmpty: InviteCreateRequest())
            return try JSONResponse.ok(try await d.createInvite(route.channelID!, request, caller: try me()))
        case .getInvite:
            return try JSONResponse.ok(try await d.invite(route.inviteCode!))
        case .acceptInvite:
            return try JSONResponse.ok(try await d.acceptInvite(route.inviteCode!, caller: try me()))
        case .listMessages:
            return JSONResponse.ok(Data(try await d.messages(route.channelID!, caller: try me(), page: try Self.page(query),
                                                             limit: try query.int("limit", default: 50, in: Limits.pageSize)).utf8))
        case .getMessage:
            return try JSONResponse.ok(try await d.message(route.channelID!, id: route.messageID!, caller: try me()))
        case .createMessage:
            let json = try await d.createMessage(route.channelID!, try decode(MessageCreateRequest.self), uploads: uploads, baseURL: baseURL,
                                                 caller: try me())
            return JSONResponse.ok(Data(json.utf8))
        case .editMessage:
            return try JSONResponse.ok(try await d.editMessage(route.channelID!, id: route.messageID!, try decode(MessageEditRequest.self),
                                                               uploads: uploads, baseURL: baseURL, caller: try me()))
        case .deleteMessage:
            try await d.deleteMessage(route.channelID!, id: route.messageID!, caller: try me())
            return JSONResponse.noContent()
        case .triggerTyping:
            try await d.triggerTyping(route.channelID!, caller: try me())
            return JSONResponse.noContent()
        case .bulkDeleteMessages:
            try await d.bulkDelete(route.channelID!, try decode(BulkDeleteRequest.self), caller: try me())
            return JSONResponse.noContent()
        case .addReaction:
            try await d.addReaction(route.channelID!, messageID: route.messageID!, emoji: route.emoji!, caller: try me())
            return JSONResponse.noContent()
        case .removeOwnReaction, .removeUserReaction:
            try await d.removeReaction(route.channelID!, messageID: route.messageID!, emoji: route.emoji!, user: route.userID, caller: try me())
            return JSONResponse.noContent()
        case .removeAllReactions, .removeEmojiReactions:
            try await d.clearReactions(route.channelID!, messageID: route.messageID!, emoji: route.emoji, caller: try me())
            return JSONResponse.noContent()
        case .listReactionUsers:
            let type = try query.int("type", default: 0, in: 0...1)
            return try JSONResponse.ok(try await d.reactionUsers(route.channelID!, messageID: route.messageID!, emoji: route.emoji!,
                                                                 after: try query.snowflake("after") ?? Snowflake(0),
                                                                 limit: try query.int("limit", default: 25, in: Limits.reactionUsersPage),
                                                                 burst: type == 1, caller: try me()))
        case .listPins:
            return try JSONResponse.ok(try await d.pins(route.channelID!, caller: try me(), before: try query.date("before"),
                                                        limit: try query.int("limit", default: 50, in: Limits.pinsPage)))
        case .listPinsLegacy:
            return try JSONResponse.ok(try await d.pins(route.channelID!, caller: try me(), before: nil, limit: Limits.pinsPerChannel).items.map(\.message))
        case .pinMessage:
            try await d.pin(route.channelID!, messageID: route.messageID!, caller: try me())
            return JSONResponse.noContent()
        case .unpinMessage:
            try await d.unpin(route.channelID!, messageID: route.messageID!, caller: try me())
            return JSONResponse.noContent()
        case .ackMessage:
            // Discord answers {"token": null}; Concord adds the channel's counts after the ack.
            let entry = try await d.acknowledge(route.channelID!, messageID: route.messageID!, caller: try me())
            return JSONResponse.ok(Data(#"{"token":null,"mention_count":\#(entry.mention_count),"unread_count":\#(entry.unread_count)}"#.utf8))
        case .getReadStates:
            // Concord's addition: the same entries READY carries, for a client that wants them fresh.
            return try JSONResponse.ok(try await d.readStates(try me()))
        case .createShareInvite:
            return try JSONResponse.ok(try await d.createShareInvite(route.channelID!, caller: try me()))
        case .acceptShareInvite:
            return try JSONResponse.ok(try await d.acceptShareInvite(route.inviteCode!, into: route.guildID!, caller: try me()))
        case .listRoles:
            return try JSONResponse.ok(try await d.roles(route.guildID!, caller: try me()))
        case .getRole:
            return try JSONResponse.ok(try await d.role(route.guildID!, roleID: route.roleID!, caller: try me()))
        case .createRole:
            let request = try decode(RoleRequest.self, orIfEmpty: RoleRequest())
            return try JSONResponse.ok(try await d.createRole(route.guildID!, request, caller: try me()))
        case .modifyRolePositions:
            return try JSONResponse.ok(try await d.moveRoles(route.guildID!, try decode([RolePosition].self), caller: try me()))
        case .modifyRole:
            let request = try decode(RoleRequest.self, orIfEmpty: RoleRequest())
            return try JSONResponse.ok(try await d.modifyRole(route.guildID!, roleID: route.roleID!, request, caller: try me()))
        case .deleteRole:
            try await d.deleteRole(route.guildID!, roleID: route.roleID!, caller: try me())
            return JSONResponse.noContent()
        case .addMemberRole, .removeMemberRole:
            try await d.setMemberRole(route.guildID!, userID: route.userID!, roleID: route.roleID!, held: route.endpoint == .addMemberRole, caller: try me())
            return JSONResponse.noContent()
        case .modifyMember:
            return try JSONResponse.ok(try await d.modifyMember(route.guildID!, userID: route.userID!, try decode(MemberModifyRequest.self), caller: try me()))
        case .modifyCurrentMember:
            return try JSONResponse.ok(try await d.modifyCurrentMember(route.guildID!, try decode(CurrentMemberModifyRequest.self), caller: try me()))
        case .kickMember:
            try await d.kick(route.guildID!, userID: route.userID!, caller: try me())
            return JSONResponse.noContent()
        case .leaveGuild:
            try await d.leave(route.guildID!, caller: try me())
            return JSONResponse.noContent()
        case .listBans:
            return try JSONResponse.ok(try await d.bans(route.guildID!, caller: try me(), before: try query.snowflake("before"),
                                                        after: try query.snowflake("after"), limit: try query.int("limit", default: 1000, in: 1...1000)))
        case .getBan:
            return try JSONResponse.ok(try await d.ban(route.guildID!, userID: route.userID!, caller: try me()))
        case .createBan:
            try await d.ban(route.guildID!, userID: route.userID!, try decode(BanRequest.self, orIfEmpty: BanRequest()), caller: try me())
            return JSONResponse.noContent()
        case .removeBan:
            try await d.unban(route.guildID!, userID: route.userID!, caller: try me())
            return JSONResponse.noContent()
        case .putOverwrite:
            try await d.putOverwrite(route.channelID!, targetID: route.overwriteID!, try decode(OverwriteRequest.self), caller: try me())
            return JSONResponse.noContent()
        case .deleteOverwrite:
            try await d.deleteOverwrite(route.channelID!, targetID: route.overwriteID!, caller: try me())
            return JSONResponse.noContent()
        case .bulkBan:
            return try JSONResponse.ok(try await d.bulkBan(route.guildID!, try decode(BulkBanRequest.self), caller: try me()))
        case .getAuditLog:
            let action = try query.int("action_type", default: -1, in: -1...Int(Int32.max))
            return try JSONResponse.ok(try await d.auditLog(route.guildID!, caller: try me(), userID: try query.snowflake("user_id"),
                                                            action: action < 0 ? nil : action, before: try query.snowflake("before"),
                                                            after: try query.snowflake("after"), limit: try query.int("limit", default: 50, in: 1...100)))
        case .bulkAck:
            try await d.acknowledge(try decode(BulkAckRequest.self), caller: try me())
            return JSONResponse.noContent()
        }
    }

    /// X-Audit-Log-Reason, URL-encoded as Discord's libraries send it: at most 512 characters,
    /// no NUL (a reason that does not decode is taken as written).
    static func auditReason(_ header: String?) throws -> String? {
        guard let header, !header.isEmpty else { return nil }
        let reason = header.removingPercentEncoding ?? header
        guard !reason.unicodeScalars.contains("\u{0}"), reason.unicodeScalars.count <= Limits.auditLogReason else {
            throw APIError.invalidForm(.single(["reason"], code: "BASE_TYPE_MAX_LENGTH",
                                               message: "Must be \(Limits.auditLogReason) or fewer in length, without NUL."))
        }
        return reason
    }

    /// Routes only edges use: what a gateway session needs, and outbox read-back by sequence.
    func internalRoute(_ request: Request) async throws -> Response {
        switch request.uri.path {
        case InternalAPI.Path.stats:
            let stats = domain.stats
            return JSONResponse.ok(Data(#"{"hot_hits":\#(stats.hotHits.load(ordering: .relaxed)),"history_reads":\#(stats.historyReads.load(ordering: .relaxed))}"#.utf8))
        case InternalAPI.Path.outbox:
            // Read-back by sequence for consumers that missed publications (edges after a Redis drop).
            let query = QueryParameters(request)
            let after = Int64(try query.int("after", default: 0, in: 0...Int.max))
            let limit = try query.int("limit", default: 500, in: 1...5000)
            if query.string("settled") == "1" { try await domain.settleOutbox() }
            // A durable follower (a relay) names itself: rows stay until it has them, and rows it
            // can no longer get are a loud refusal, never a silent skip past the gap.
            if let follower = query.string("follower") {
                guard follower.count <= 64, follower.allSatisfy({ $0.isLetter || $0.isNumber || "-_:.".contains($0) }) else {
                    throw APIError.invalidForm(.single(["follower"], code: "BASE_TYPE_INVALID", message: "Invalid follower name."))
                }
                // Rows are kept from where the follower's copy is known to be (a relay reading
                // ahead of what its destination has applied says so), never past where it reads.
                let confirmed = Int64(try query.int("confirmed", default: Int(after), in: 0...Int(after)))
                if try await domain.db.followOutbox(OutboxFollower.consumer(follower), after: confirmed) {
                    throw APIError.outboxPruned(after: after)
                }
            }
            // A relay says which cell it relays into: it gets only what is shared with that cell,
            // and how far the source looked (its cursor moves there, whatever it got).
            if query.string("for") != nil {
                let destination = try query.int("for", default: 0, in: 0...Snowflake.maxCellID)
                // A relay that has read everything may ask for its answer to be held (`wait`, in
                // ms) until events for its destination are numbered; noted before the look, so
                // a batch numbered in between answers at once.
                let hold = try query.int("wait", default: 0, in: 0...InternalAPI.longestRelayHold)
                let streamed = try query.int("stream", default: 0, in: 0...1) == 1
                let held = domain.relayWakes.heldReads
                let seen = held.generation(of: destination)
                var (events, through, head) = try await domain.db.events(after: after, for: destination, limit: limit)
                if streamed, hold > 0 {
                    return relayPageStream(first: (events, through, head), noted: seen, for: destination, limit: limit,
                                           until: .now + .milliseconds(hold))
                }
                if events.isEmpty, hold > 0 {
                    await held.wait(for: destination, pastGeneration: seen, upTo: .milliseconds(hold))
                    (events, through, head) = try await domain.db.events(after: after, for: destination, limit: limit)
                }
                var response = JSONResponse.ok(Self.outboxPage(events))
                response.headers[.concordThrough] = String(through)
                response.headers[.concordHead] = String(head)
                return response
            }
            return JSONResponse.ok(Self.outboxPage(try await domain.db.events(after: after, limit: limit)))
        case InternalAPI.Path.revocationCheck:
            // An edge whose view of the revoked set is incomplete asks the database itself.
            guard let token = QueryParameters(request).string("token").flatMap(Snowflake.init) else { throw APIError.unauthorized }
            return try JSONResponse.ok(RevocationAnswer(revoked: try await domain.db.isTokenRevoked(token)))
        case InternalAPI.Path.directory:
            // Read from the database, not this process's copy: an edge asking has just been told 421.
            return try JSONResponse.ok(try await domain.db.directoryEntries())
        case InternalAPI.Path.outboxHead:
            return try JSONResponse.ok(OutboxPosition(seq: try await domain.db.outboxHead()))
        case InternalAPI.Path.presence:
            var body = request
            try await domain.reportPresences(try WireJSON.decode([PresenceReport].self, from: try await body.collectJSONBody()))
            return JSONResponse.noContent()
        case InternalAPI.Path.gatewayReady:
            var body = request
            let asks = try WireJSON.decode([ReadyAsk].self, from: try await body.collectJSONBody())
            // Each token is verified here again; one this cell does not accept is answered null.
            let accepted = asks.enumerated().compactMap { index, ask in
                domain.tokens.authenticate(authorizationHeader: ask.authorization).map { (index, ReadyRequest(caller: Caller($0), guildsOnly: ask.guilds_only)) }
            }
            var answers = [ReadyState?](repeating: nil, count: asks.count)
            for (answer, (index, _)) in zip(try await domain.readyStates(accepted.map(\.1)), accepted) { answers[index] = answer }
            return JSONResponse.ok(Data(try ReadyBatch(answers).wireJSON()))
        case InternalAPI.Path.sharedMessages:
            // Another cell hands over a write to a channel homed here and shared into one of its workspaces.
            var body = request
            // Files travel base64 in the JSON: a third more than the upload limit, and the message.
            let post = try WireJSON.decode(SharedPost.self, from: try await body.collectJSONBody(limit: sharedWriteBytes))
            let json = try await domain.createSharedMessage(post.channel_id, post.message, author: post.author, via: post.workspace_id,
                                                            uploads: post.uploads, baseURL: post.base_url ?? "")
            return JSONResponse.ok(Data(json.utf8))
        case InternalAPI.Path.sharedMessageChange:
            var body = request
            let change = try WireJSON.decode(SharedChange.self, from: try await body.collectJSONBody(limit: sharedWriteBytes))
            guard let message = try await domain.changeSharedMessage(change) else { return JSONResponse.ok(Data("{}".utf8)) }
            return try JSONResponse.ok(message)
        case InternalAPI.Path.sharedReactions:
            var body = request
            try await domain.reactShared(try WireJSON.decode(SharedReaction.self, from: try await body.collectJSONBody()))
            return JSONResponse.ok(Data("{}".utf8))
        case InternalAPI.Path.claimShare:
            var body = request
            return try JSONResponse.ok(try await domain.claimShare(try WireJSON.decode(SharedHistoryRequest.self, from: try await body.collectJSONBody())))
        case InternalAPI.Path.sharedHistory:
            var body = request
            return try JSONResponse.ok(try await domain.sharedHistory(try WireJSON.decode(SharedHistoryRequest.self, from: try await body.collectJSONBody())))
        case InternalAPI.Path.relayCursor:
            let source = try QueryParameters(request).int("source", default: 0, in: 1...Snowflake.maxCellID)
            let cursor = try await domain.db.relayCursor(source: source)
            return try JSONResponse.ok(OutboxPosition(seq: cursor.seq))
        case InternalAPI.Path.relayApply:
            // A page of another cell's outbox (as /internal/outbox serves it), applied to the replicas here.
            let query = QueryParameters(request)
            let source = try query.int("source", default: 0, in: 1...Snowflake.maxCellID)
            let through = Int64(try query.int("through", default: 0, in: 0...Int.max))
            let after = Int64(try query.int("after", default: 0, in: 0...Int.max))
            var body = request
            // A page of up to 500 events is larger than any public request may be.
            let page = try await body.collectJSONBody(limit: 64 << 20)
            guard let events = try? OutboxEvent.page(wireJSON: page) else { throw APIError.invalidJSON }
            let (applied, cursor) = try await domain.applyRelayed(source: source, events: events, after: after, through: through)
            return try JSONResponse.ok(RelayApplied(applied: applied, cursor: cursor))
        case let path where path.hasPrefix(InternalAPI.Path.users):
            guard let id = Snowflake(path.dropFirst(InternalAPI.Path.users.count)) else { throw APIError.unknownUser }
            if request.method == .put {
                var body = request
                try await domain.storeReplica(try WireJSON.decode(User.self, from: try await body.collectJSONBody()), id: id)
                return JSONResponse.noContent()
            }
            return try JSONResponse.ok(try await domain.profile(id))
        default:
            throw APIError.notFound
        }
    }

    /// before/after/around are exclusive, as in Discord; the first one given wins.
    static func page(_ query: QueryParameters) throws -> HistoryPage {
        if let around = try query.snowflake("around") { return .around(around) }
        if let before = try query.snowflake("before") { return .before(before) }
        if let after = try query.snowflake("after") { return .after(after) }
        return .latest
    }
}
