import ConcordAuth
import ConcordModels
import ConcordStorage
import Foundation

/// Turns stored records into Discord's objects.
enum Presenter {
    static func member(_ m: MemberRecord, withUser: Bool) -> Member {
        var member = Member(user: withUser ? m.user : nil, nick: m.nick, joinedAt: DiscordTimestamp.string(from: m.joinedAt))
        member.roles = m.roleIDs
        member.communication_disabled_until = m.timedOutUntil.flatMap { $0 > Date() ? DiscordTimestamp.string(from: $0) : nil }
        return member
    }

    /// `roles`: the workspace's roles (nil: only @everyone, as a new workspace has).
    static func guild(_ w: WorkspaceRecord, roles: [Role]? = nil, memberCount: Int? = nil) -> Guild {
        var guild = Guild(id: w.id, name: w.name, description: w.description, ownerID: w.ownerID,
                          systemChannelID: w.systemChannelID, memberCount: memberCount)
        if let roles { guild.roles = roles }
        return guild
    }

    static func invite(_ i: InviteRecord, workspace: WorkspaceRecord, channel: GuildChannel, inviter: User?) -> Invite {
        Invite(code: i.code,
               guild: .init(id: workspace.id, name: workspace.name, icon: nil, description: workspace.description),
               channel: .init(id: channel.id, name: channel.name, type: channel.type),
               inviter: inviter, uses: i.uses, maxUses: i.maxUses, maxAge: i.maxAge, temporary: i.temporary,
               createdAt: DiscordTimestamp.string(from: i.createdAt),
               expiresAt: i.expiresAt.map(DiscordTimestamp.string(from:)))
    }

    /// Renders messages, resolving mentioned users and replied-to messages with one query each
    /// (only when some message needs them), and their reactions and pins with one more.
    /// `viewer`: whose reactions are `me` (nil: nobody's, for what every reader is given).
    static func messages(_ records: [MessageRecord], db: some SQLExecutor, links: AttachmentLinks, viewer: Snowflake? = nil) async throws -> [Message] {
        guard let first = records.first else { return [] }
        let decorations = try await db.decorations(channelID: first.channelID, messageIDs: records.map(\.id), viewer: viewer)
        let mentionIDs = Array(Set(records.flatMap(\.mentionIDs)))
        var mentioned: [Snowflake: MentionedUser] = [:]
        if !mentionIDs.isEmpty {
            if let ws = first.workspaceID {
                for m in try await db.members(workspaceID: ws, userIDs: mentionIDs) {
                    mentioned[m.user.id] = MentionedUser(user: m.user, member: member(m, withUser: false))
                }
            }
            for u in try await db.users(ids: mentionIDs.filter { mentioned[$0] == nil }) {
                mentioned[u.id] = MentionedUser(user: u, member: nil)
            }
        }
        let referenceIDs = Array(Set(records.compactMap(\.referenceMessageID)))
        var referenced: [Snowflake: MessageRecord] = [:]
        if !referenceIDs.isEmpty {
            for r in try await db.messages(channelID: first.channelID, ids: referenceIDs) { referenced[r.id] = r }
        }
        return records.map { record in
            var rendered = message(record, mentions: record.mentionIDs.compactMap { mentioned[$0] },
                                   referenced: record.referenceMessageID.flatMap { referenced[$0] }.map { message($0, mentions: [], referenced: nil, links: links) },
                                   links: links)
            rendered.pinned = rendered.pinned || decorations.pinned.contains(record.id)
            rendered.reactions = decorations.reactions[record.id].map { $0.map { Reaction(emoji: $0.emoji, count: $0.count, me: $0.mine) } }
            return rendered
        }
    }

    /// A stored JSON array; most messages have none of each kind ("[]"), and a page of history
    /// would otherwise run the decoder three times per message for nothing.
    static func stored<T: Decodable>(_ type: [T].Type, _ json: String) -> [T] {
        json == "[]" ? [] : (try? WireJSON.decode(type, from: Data(json.utf8))) ?? []
    }

    /// A stored nonce: mostly a plain string, read without the decoder when nothing in it is escaped.
    static func storedNonce(_ json: String) -> JSONValue? {
        let bytes = json.utf8
        let inner = bytes.dropFirst().dropLast()
        if bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\""),
           !inner.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 < 0x20 }) {
            return .string(String(decoding: inner, as: UTF8.self))
        }
        return try? WireJSON.decode(JSONValue.self, from: Data(bytes))
    }

    static func message(_ r: MessageRecord, mentions: [MentionedUser], referenced: Message?, links: AttachmentLinks) -> Message {
        let embeds = stored([Embed].self, r.embedsJSON)
        let components = stored([JSONValue].self, r.componentsJSON)
        let nonce = r.nonceJSON.flatMap(storedNonce)
        let reference = r.referenceMessageID.map {
            MessageReference(messageID: $0, channelID: r.referenceChannelID ?? r.channelID, guildID: r.referenceGuildID)
        }
        var message = Message(id: r.id, channelID: r.channelID, guildID: r.workspaceID, author: r.author,
                       member: r.authorMember.map { member($0, withUser: false) }, content: r.content,
                       editedTimestamp: r.editedAt.map(DiscordTimestamp.string(from:)), tts: r.tts,
                       mentionEveryone: r.mentionEveryone, mentions: mentions, embeds: embeds, components: components,
                       nonce: nonce, pinned: r.pinned, type: MessageType(rawValue: r.type) ?? .normal, flags: r.flags,
                       reference: reference, referencedMessage: referenced)
        message.attachments = stored([Attachment].self, r.attachmentsJSON).map { attachment in
            var signed = attachment
            signed.url = links.signed(attachment.url)
            signed.proxy_url = signed.url
            return signed
        }
        return message
    }
}
