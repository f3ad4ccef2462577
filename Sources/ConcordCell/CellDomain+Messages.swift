import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    /// A page of history as a JSON array, the same for every reader: from the hot tier when it
    /// covers the page, otherwise read once for all concurrent askers from the warm and cold
    /// tiers (and, for the latest page, kept hot for the next reader).
    private func sharedPage(_ channelID: Snowflake, caller: Caller, page: HistoryPage, limit: Int) async throws -> String {
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        guard access.channel.type != ChannelType.guildCategory.rawValue else { return "[]" }
        // Without Redis, pages are read from the database and nothing is kept hot.
        let lookup = try? await hot.lookup(channelID, page: page, limit: limit)
        if case .hit(let json) = lookup {
            stats.hotHits.add(1, ordering: .relaxed)
            return json
        }
        let version: String? = if case .miss(let seen) = lookup { seen } else { nil }
        return try await flights.run("\(channelID) \(page) \(limit) v\(version ?? "?")", remember: version != nil) { [self] in
            stats.historyReads.add(1, ordering: .relaxed)
            // The latest page is read as deep as the hot list keeps, to fill it.
            let depth = page == .latest && version != nil ? max(limit, hot.perChannel) : limit
            let records = try await history.page(channelID, page, limit: depth)
            let rendered = try await Presenter.messages(records, db: db, links: links).map { ($0.id, try WireJSON.encodeString($0)) }
            if page == .latest, let version {
                await hot.fill(channelID, version: version, latest: rendered, reachesStart: records.count < depth)
            }
            return "[" + rendered.prefix(limit).map(\.1).joined(separator: ",") + "]"
        }
    }

    /// A page of history with the caller's own reactions marked.
    public func messages(_ channelID: Snowflake, caller: Caller, page: HistoryPage, limit: Int) async throws -> String {
        try await markOwnReactions(try await sharedPage(channelID, caller: caller, page: page, limit: limit), channelID: channelID, viewer: caller.userID)
    }

    public func message(_ channelID: Snowflake, id: Snowflake, caller: Caller) async throws -> Message {
        _ = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        guard let found = try await history.message(channelID, id: id) else { throw APIError.unknownMessage }
        return try await Presenter.messages([found.record], db: db, links: links, viewer: caller.userID)[0]
    }

    /// Posts a message: validated, permission-checked, stored with its MESSAGE_CREATE event in
    /// one statement. Returns the message as JSON, the same bytes the event carries.
    /// `uploads`: the request's files by index; `baseURL`: the edge the files came through,
    /// whose CDN path their URLs name.
    public func createMessage(_ channelID: Snowflake, _ request: MessageCreateRequest, uploads: [Int: Upload] = [:], baseURL: String = "",
                              caller: Caller) async throws -> String {
        try Validation.validate(request)
        let needs: Permissions = [.viewChannel, .sendMessages]
        // A plain send (no files, no nonce: one statement, see `post`) may go with the access
        // kept from the caller's last send here; its insert is refused if that access changed
        // since, and the send is checked again with a fresh read. A kept access that would
        // refuse is never trusted: the fresh read decides.
        let plain = uploads.isEmpty && (request.attachments ?? []).isEmpty && request.enforcedNonce == nil
        if plain, let kept = sendAccess.access(channel: channelID, user: caller.userID), let versions = kept.versions,
           let allowed = try? Self.allowed(kept, needs: needs) {
            do {
                return try await send(channelID, request, access: allowed, checkedAt: versions, uploads: uploads, baseURL: baseURL)
            } catch where error.sqlState == AccessVersions.changed {
                sendAccess.forget(channel: channelID, user: caller.userID)
            }
        }
        let access = try await requireChannel(channelID, caller: caller, needs: needs)
        if plain { sendAccess.keep(access, user: caller.userID) }
        return try await send(channelID, request, access: access, checkedAt: nil, uploads: uploads, baseURL: baseURL)
    }

    /// Sends with an access that allows it (`checkedAt`: the versions a kept access was read at).
    private func send(_ channelID: Snowflake, _ request: MessageCreateRequest, access: ChannelAccess, checkedAt: AccessVersions?,
                      uploads: [Int: Upload], baseURL: String) async throws -> String {
        if !(request.attachments ?? []).isEmpty {
            guard access.permissions.contains(.attachFiles) else { throw APIError.missingPermissions }
        }
        // A replica of a channel homed in another cell: checked here (the caller's workspace
        // is here), written at home.
        if let home = access.homeCell {
            let (author, workspace) = try replicaWriter(access)
            return try await peers.postShared(channelID, request, author: author, workspace: workspace, home: home, uploads: uploads, baseURL: baseURL)
        }
        guard access.channel.type != ChannelType.guildCategory.rawValue else { throw APIError.nonTextChannel }
        guard let author = access.member else { throw APIError.missingAccess }
        return try await post(channelID, request, author: author.user, authorMember: access.dmUsers == nil ? author : nil,
                              permissions: access.permissions, guildID: access.guildID, dmUsers: access.dmUsers,
                              uploads: uploads, baseURL: baseURL, checkedAt: checkedAt)
    }

    /// Writes a message whose author may send it, with its MESSAGE_CREATE event (for a DM, one
    /// addressed to each of its users).
    func post(_ channelID: Snowflake, _ request: MessageCreateRequest, author: User, authorMember: MemberRecord?,
                      permissions: Permissions, guildID: Snowflake?, dmUsers: [Snowflake]?,
                      uploads: [Int: Upload] = [:], baseURL: String = "", checkedAt: AccessVersions? = nil) async throws -> String {
        let content = request.content ?? ""
        let caller = Caller(userID: author.id, tokenID: Snowflake(0), isBot: author.bot)

        var referenced: MessageRecord?
        if let ref = request.message_reference, let refID = ref.message_id {
            if ref.channel_id == nil || ref.channel_id == channelID {
                referenced = try await db.message(channelID: channelID, id: refID)
            }
            if referenced == nil && ref.fail_if_not_exists != false {
                throw APIError.invalidForm(.single(["message_reference"], code: "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", message: "Unknown message"))
            }
        }

        let (mentionIDs, mentionEveryone) = mentions(in: content, allowed: request.allowed_mentions, permissions: permissions,
                                                    repliedTo: referenced?.author.id)
        let nonceJSON: String? = switch request.nonce {
        case .none, .null?: nil
        case let nonce?: try WireJSON.encodeString(nonce)
        }
        let id = ids.next()
        let staged = try stage(request.attachments ?? [], uploads: uploads, channelID: channelID, messageID: id, baseURL: baseURL)
        var record = MessageRecord(
            id: id, channelID: channelID, workspaceID: guildID, author: author, authorMember: authorMember,
            type: (referenced == nil ? MessageType.normal : .reply).rawValue, content: content, tts: request.tts ?? false,
            mentionEveryone: mentionEveryone, mentionIDs: mentionIDs,
            embedsJSON: try WireJSON.encodeString(request.allEmbeds.map(Self.normalized)),
            componentsJSON: try WireJSON.encodeString(request.components ?? []), nonceJSON: nonceJSON,
            flags: (request.flags ?? 0) & Self.settableFlags, pinned: false,
            referenceMessageID: referenced?.id, referenceChannelID: referenced.map { _ in channelID },
            referenceGuildID: referenced == nil ? nil : guildID, editedAt: nil,
            attachmentsJSON: try WireJSON.encodeString(staged.map(\.attachment)))
        let message = try await render(record, referenced: referenced)
        // Only users who resolved to members are pinged (and later counted as mentions).
        record.mentionIDs = message.mentions.map(\.user.id)
        let json = try WireJSON.encodeString(message)
        try await db.ensureMessagePartition(bucket: record.id.bucket)
        let events = Self.addressed("MESSAGE_CREATE", channel: channelID, guild: guildID, dmUsers: dmUsers, payload: json)
        let changed: [ReadStateRow]
        let nonce = request.enforcedNonce
        try await storeBlobs(staged)
        if events.count == 1 && nonce == nil && staged.isEmpty {
            // One statement, no transaction, shared with the sends beside it: the common case, kept
            // cheap. Its batch also wakes the publisher and updates the hot lists and counters.
            _ = try await sends.insert(MessageWrite(record: record, authorID: caller.userID, event: events[0], checkedAt: checkedAt))
            if mentionEveryone { await counters.massMention(channel: channelID, message: record.id, present: true) }
            return json
        } else {
            // Only a plain send goes with a kept access, and a plain send takes the branch above.
            assert(checkedAt == nil, "a kept access is written only with its versions")
            var outcome: (changed: [ReadStateRow], earlier: Snowflake?) = ([], nil)
            // A nonce whose message was deleted since is let go and claimed again, once.
            for _ in 0..<2 {
                let stored = record
                outcome = try await db.transaction { tx -> (changed: [ReadStateRow], earlier: Snowflake?) in
                    if let nonce, let earlier = try await tx.claimNonce(channelID: channelID, authorID: caller.userID, nonce: nonce, messageID: stored.id) {
                        return ([], earlier)
                    }
                    let changed = try await tx.insertMessage(stored, authorID: caller.userID, event: events[0])
                    try await tx.insertEvents(Array(events.dropFirst()))
                    try await self.recordUploads(staged, tx)
                    return (changed, nil)
                }
                guard let nonce, let earlier = outcome.earlier else { break }
                // The nonce was sent moments ago: the first message is the answer, nothing new is written.
                if let found = try await history.message(channelID, id: earlier) {
                    return try WireJSON.encodeString(try await Presenter.messages([found.record], db: db, links: links)[0])
                }
                try await db.releaseNonce(channelID: channelID, authorID: caller.userID, nonce: nonce, messageID: earlier)
            }
            guard outcome.earlier == nil else { throw APIError.unknownMessage }
            changed = outcome.changed
        }
        signal.wake()
        await hot.append(channelID, id: record.id, json: json)
        await counters.apply(changed)
        if mentionEveryone { await counters.massMention(channel: channelID, message: record.id, present: true) }
        return json
    }

    /// Writes a batch of plain sends (see `GroupCommit`), then does what follows each commit
    /// once for the batch: the publisher woken, the messages added to their channels' hot
    /// lists and the changed read states to the counters, each in one round trip.
    static func write(_ batch: [MessageWrite], db: Database, signal: OutboxSignal, hot: HotMessages,
                      counters: UnreadCounters) async throws -> [ReadStateRow] {
        let changed = try await db.insertMessages(batch)
        signal.wake()
        await hot.append(batch.map { (channel: $0.record.channelID, id: $0.record.id, json: $0.event.payload) })
        await counters.apply(changed)
        return changed
    }

    /// Edits the caller's own message (in a replica of a shared channel: at the channel's home).
    public func editMessage(_ channelID: Snowflake, id: Snowflake, _ request: MessageEditRequest, uploads: [Int: Upload] = [:],
                            baseURL: String = "", caller: Caller) async throws -> Message {
        try Validation.validate(request)
        let access = try await requireChannel(channelID, caller: caller)
        if let home = access.homeCell {
            let (author, workspace) = try replicaWriter(access)
            let json = try await peers.changeShared(SharedChange(channel_id: channelID, workspace_id: workspace, author: author, message_id: id,
                                                                 edit: request, files: SharedFile.of(uploads), base_url: baseURL), home: home)
            return try WireJSON.decode(Message.self, from: Data(json.utf8))
        }
        return try await edit(id, in: access, request, by: caller.userID, uploads: uploads, baseURL: baseURL)
    }

    /// Edits a message of a channel the editor may see, if they wrote it.
    func edit(_ id: Snowflake, in access: ChannelAccess, _ request: MessageEditRequest, by editor: Snowflake,
              uploads: [Int: Upload] = [:], baseURL: String = "") async throws -> Message {
        try await Self.againIfArchived { try await editOnce(id, in: access, request, by: editor, uploads: uploads, baseURL: baseURL) }
    }

    /// Runs a write to one message again when its warm row left for the archive between the
    /// read and the write (the second read finds it cold and writes there).
    static func againIfArchived<T>(_ write: () async throws -> T) async throws -> T {
        for _ in 0..<2 {
            do { return try await write() } catch is MessageLeftWarmTier { continue }
        }
        return try await write()
    }

    private func editOnce(_ id: Snowflake, in access: ChannelAccess, _ request: MessageEditRequest, by editor: Snowflake,
                          uploads: [Int: Upload], baseURL: String) async throws -> Message {
        let channelID = access.channel.id
        guard let found = try await history.message(channelID, id: id) else { throw APIError.unknownMessage }
        var record = found.record
        guard record.author.id == editor else { throw APIError.cannotEditOthersMessage }
        if case .value(let content) = request.content { record.content = content }
        if case .null = request.content { record.content = "" }
        switch request.embeds {
        case .absent: break
        case .null: record.embedsJSON = "[]"
        case .value(let embeds): record.embedsJSON = try WireJSON.encodeString(embeds.map(Self.normalized))
        }
        switch request.components {
        case .absent: break
        case .null: record.componentsJSON = "[]"
        case .value(let c): record.componentsJSON = try WireJSON.encodeString(c)
        }
        if case .value(let flags) = request.flags { record.flags = flags & Self.settableFlags }
        // Attachments the edit lists by id stay; listed uploads are added; the rest go.
        var staged: [StagedUpload] = []
        var kept: [Attachment] = []
        if !request.attachments.isAbsent {
            let existing = (try? WireJSON.decode([Attachment].self, from: Data(record.attachmentsJSON.utf8))) ?? []
            let entries: [AttachmentRequest] = if case .value(let listed) = request.attachments { listed } else { [] }
            let keep = Set(entries.compactMap(\.number)).intersection(existing.map(\.id.rawValue))
            staged = try stage(entries, uploads: uploads, channelID: channelID, messageID: id, baseURL: baseURL, kept: keep)
            if !staged.isEmpty, !access.permissions.contains(.attachFiles) { throw APIError.missingPermissions }
            kept = existing.filter { keep.contains($0.id.rawValue) }
            record.attachmentsJSON = try WireJSON.encodeString(kept + staged.map(\.attachment))
        }
        if record.content.allSatisfy(\.isWhitespace) && record.embedsJSON == "[]" && record.componentsJSON == "[]" && record.attachmentsJSON == "[]" {
            throw APIError.emptyMessage
        }
        if !request.content.isAbsent {
            (record.mentionIDs, record.mentionEveryone) = mentions(in: record.content, allowed: request.allowed_mentions,
                                                                   permissions: access.permissions, repliedTo: nil)
        }
        record.editedAt = Date()
        // Answered with its pin and reactions as the editor sees them; the event leaves the
        // reactions out (whose they are is per reader).
        let message = try await Presenter.messages([record], db: db, links: links, viewer: editor)[0]
        let edited = record
        let updates = try channelEvents("MESSAGE_UPDATE", access: access, message.withoutReactions)
        let attachmentsChanged = !request.attachments.isAbsent
        try await storeBlobs(staged)
        let (changed, released) = try await commit { tx -> ([ReadStateRow], [String]) in
            var released: [String] = []
            if attachmentsChanged {
                released = try await tx.deleteAttachments(channelID: channelID, messageIDs: [id], keeping: kept.map(\.id))
                try await self.recordUploads(staged, tx)
            }
            // An archived message's edit is kept beside its file (read over it, folded in by the next rewrite).
            guard let archived = found.archived else {
                let changed = try await tx.updateMessage(edited, event: updates[0])
                try await tx.insertEvents(Array(updates.dropFirst()))
                return (changed, released)
            }
            try await tx.overrideArchived(edited, base: archived)
            try await tx.insertEvents(updates)
            return ([], released)
        }
        await releaseBlobs(released)
        await hot.invalidate(channelID)
        await counters.apply(changed)
        if found.archived == nil { await counters.massMention(channel: channelID, message: id, present: edited.mentionEveryone) }
        return message
    }

    /// Deletes a message: its author may, and so may members who can manage messages (in a
    /// replica of a shared channel: at the channel's home, where only its author may).
    public func deleteMessage(_ channelID: Snowflake, id: Snowflake, caller: Caller) async throws {
        let access = try await requireChannel(channelID, caller: caller)
        if let home = access.homeCell {
            let (author, workspace) = try replicaWriter(access)
            _ = try await peers.changeShared(SharedChange(channel_id: channelID, workspace_id: workspace, author: author,
                                                          message_id: id, edit: nil), home: home)
            return
        }
        try await delete(id, in: access, by: caller.userID)
    }

    func delete(_ id: Snowflake, in access: ChannelAccess, by deleter: Snowflake) async throws {
        try await Self.againIfArchived { try await deleteOnce(id, in: access, by: deleter) }
    }

    private func deleteOnce(_ id: Snowflake, in access: ChannelAccess, by deleter: Snowflake) async throws {
        let channelID = access.channel.id
        guard let found = try await history.message(channelID, id: id) else { throw APIError.unknownMessage }
        let record = found.record
        guard record.author.id == deleter || access.permissions.contains(.manageMessages) else { throw APIError.missingPermissions }
        let (changed, released) = try await commit { tx -> ([ReadStateRow], [String]) in
            var changed: [ReadStateRow] = []
            if found.archived != nil {
                try await tx.deleteArchived(channelID: channelID, id: id)
            } else {
                guard let rows = try await tx.deleteMessage(channelID: channelID, id: id) else { throw MessageLeftWarmTier() }
                changed = rows
            }
            let released = try await tx.deleteMessageExtras(channelID: channelID, messageIDs: [id])
            try await tx.insertEvents(try channelEvents("MESSAGE_DELETE", access: access,
                                                        MessageDeletePayload(id: id, channelID: channelID, guildID: access.guildID)))
            // A moderator's deletion of someone else's message is on the record; one's own is not.
            if let guild = access.guildID, record.author.id != deleter {
                try await audit(tx, guild: guild, .messageDelete, by: deleter, target: record.author.id,
                                options: ["channel_id": channelID.description, "count": "1"])
            }
            return (changed, released)
        }
        await releaseBlobs(released)
        await hot.invalidate(channelID)
        await counters.apply(changed)
        if record.mentionEveryone { await counters.massMention(channel: channelID, message: id, present: false) }
    }

    /// Typing is ephemeral: published straight to Redis, not kept in the outbox.
    public func triggerTyping(_ channelID: Snowflake, caller: Caller) async throws {
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .sendMessages])
        try refuseAtDMReplica(access)
        guard let member = access.member else { throw APIError.missingAccess }
        let payload = TypingStartPayload(channelID: channelID, guildID: access.guildID, userID: caller.userID, timestamp: Int(Date().timeIntervalSince1970),
                                         member: access.dmUsers == nil ? Presenter.member(member, withUser: true) : nil)
        for pending in try channelEvents("TYPING_START", access: access, payload) {
            _ = try? await redis.send("PUBLISH", Topics.of(pending, cell: cellName), OutboxEvent.wireJSON(seq: nil, event: pending))
        }
    }

    // MARK: Helpers

    /// Flags a client may set on its message: SUPPRESS_EMBEDS (1<<2) and SUPPRESS_NOTIFICATIONS (1<<12).
    static let settableFlags = 1 << 2 | 1 << 12

    /// As Discord stores an embed: a type ("rich" for those bots send) and every field's `inline`.
    static func normalized(_ embed: Embed) -> Embed {
        var e = embed
        if e.type == nil { e.type = "rich" }
        e.fields = e.fields?.map { field in
            var field = field
            field.inline = field.inline ?? false
            return field
        }
        return e
    }

    /// Who a message pings, under `allowed_mentions` (absent: everything written in the content).
    func mentions(in content: String, allowed: AllowedMentions?, permissions: Permissions, repliedTo: Snowflake?) -> ([Snowflake], Bool) {
        var users = Mentions.userIDs(in: content)
        var everyone = Mentions.mentionsEveryone(content) && permissions.contains(.mentionEveryone)
        if let allowed {
            let parse = allowed.parse ?? []
            if !parse.contains("users") {
                let listed = Set(allowed.users ?? [])
                users = users.filter(listed.contains)
            }
            if !parse.contains("everyone") { everyone = false }
            if allowed.replied_user == true, let repliedTo, !users.contains(repliedTo) { users.append(repliedTo) }
        } else if let repliedTo, !users.contains(repliedTo) {
            // Discord pings the replied-to author by default.
            users.append(repliedTo)
        }
        return (users, everyone)
    }

    func render(_ record: MessageRecord, referenced: MessageRecord?) async throws -> Message {
        var mentioned: [MentionedUser] = []
        if !record.mentionIDs.isEmpty, let ws = record.workspaceID {
            let members = try await db.members(workspaceID: ws, userIDs: record.mentionIDs)
            let byID = Dictionary(members.map { ($0.user.id, $0) }, uniquingKeysWith: { a, _ in a })
            mentioned = record.mentionIDs.compactMap { id in
                byID[id].map { MentionedUser(user: $0.user, member: Presenter.member($0, withUser: false)) }
            }
        }
        return Presenter.message(record, mentions: mentioned,
                                 referenced: referenced.map { Presenter.message($0, mentions: [], referenced: nil, links: links) }, links: links)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
