/// Discord's permission bit set. Concord evaluates it in one place (ConcordPermissions'
/// PermissionCalculator), so request handlers only ask whether a member may do something.
public struct Permissions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let createInstantInvite = Permissions(rawValue: 1 << 0)
    public static let kickMembers = Permissions(rawValue: 1 << 1)
    public static let banMembers = Permissions(rawValue: 1 << 2)
    public static let administrator = Permissions(rawValue: 1 << 3)
    public static let manageChannels = Permissions(rawValue: 1 << 4)
    public static let manageGuild = Permissions(rawValue: 1 << 5)
    public static let addReactions = Permissions(rawValue: 1 << 6)
    public static let viewAuditLog = Permissions(rawValue: 1 << 7)
    public static let viewChannel = Permissions(rawValue: 1 << 10)
    public static let sendMessages = Permissions(rawValue: 1 << 11)
    public static let sendTTSMessages = Permissions(rawValue: 1 << 12)
    public static let manageMessages = Permissions(rawValue: 1 << 13)
    public static let embedLinks = Permissions(rawValue: 1 << 14)
    public static let attachFiles = Permissions(rawValue: 1 << 15)
    public static let readMessageHistory = Permissions(rawValue: 1 << 16)
    public static let mentionEveryone = Permissions(rawValue: 1 << 17)
    public static let changeNickname = Permissions(rawValue: 1 << 26)
    public static let manageNicknames = Permissions(rawValue: 1 << 27)
    public static let manageRoles = Permissions(rawValue: 1 << 28)
    public static let moderateMembers = Permissions(rawValue: 1 << 40)

    /// What the `@everyone` role grants in a new workspace.
    public static let everyoneDefault: Permissions = [
        .createInstantInvite, .addReactions, .viewChannel, .sendMessages, .embedLinks, .attachFiles,
        .readMessageHistory, .mentionEveryone, .changeNickname,
    ]
    public static let all = Permissions(rawValue: (1 << 51) - 1)
    /// What either side of a direct message may do there (no one manages a DM).
    public static let directMessage: Permissions = [.addReactions, .viewChannel, .sendMessages, .embedLinks, .attachFiles, .readMessageHistory]

}
