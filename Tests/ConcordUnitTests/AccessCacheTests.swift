@testable import ConcordCell
import ConcordModels
import ConcordStorage
import Testing

/// Which accesses a cell keeps for the next send, and how many.
@Suite("Kept send access")
struct AccessCacheTests {
    static func access(channel: Int64, versions: AccessVersions? = AccessVersions(workspace: 1, user: 1), dmUsers: [Snowflake]? = nil,
                       homeCell: Int? = nil) -> ChannelAccess {
        let user = User(id: Snowflake(int64: 7), username: "u", globalName: nil, bot: false)
        let channel = GuildChannel(id: Snowflake(int64: channel), type: .guildText, guildID: Snowflake(int64: 1), name: "c", topic: nil, position: 0,
                                   parentID: nil, nsfw: false, lastMessageID: nil)
        var access = ChannelAccess(channel: channel, ownerID: user.id, user: user, member: nil, dmUsers: dmUsers, homeCell: homeCell)
        access.versions = versions
        return access
    }

    @Test func onlyVersionedChannelsHomedHereAreKept() {
        let cache = AccessCache()
        let user = Snowflake(int64: 7)
        cache.keep(Self.access(channel: 1), user: user)
        cache.keep(Self.access(channel: 2, versions: nil), user: user)
        cache.keep(Self.access(channel: 3, dmUsers: [user, Snowflake(int64: 8)]), user: user)
        cache.keep(Self.access(channel: 4, homeCell: 2), user: user)
        #expect(cache.access(channel: Snowflake(int64: 1), user: user) != nil)
        for channel: Int64 in [2, 3, 4] { #expect(cache.access(channel: Snowflake(int64: channel), user: user) == nil) }
        #expect(cache.access(channel: Snowflake(int64: 1), user: Snowflake(int64: 8)) == nil, "kept for its user only")
        cache.forget(channel: Snowflake(int64: 1), user: user)
        #expect(cache.access(channel: Snowflake(int64: 1), user: user) == nil)
    }

    @Test func aFullCacheStartsOver() {
        let cache = AccessCache(capacity: 3)
        let user = Snowflake(int64: 7)
        for channel: Int64 in 1...3 { cache.keep(Self.access(channel: channel), user: user) }
        #expect((1...3).allSatisfy { cache.access(channel: Snowflake(int64: $0), user: user) != nil })
        cache.keep(Self.access(channel: 4), user: user)
        #expect(cache.access(channel: Snowflake(int64: 4), user: user) != nil)
        #expect((1...3).allSatisfy { cache.access(channel: Snowflake(int64: $0), user: user) == nil })
    }
}
