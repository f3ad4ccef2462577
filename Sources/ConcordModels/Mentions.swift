/// Finds mentions in message content the way Discord does.
public enum Mentions {
    /// User ids written as `<@id>` or `<@!id>`, in order of first appearance.
    public static func userIDs(in content: String) -> [Snowflake] {
        var ids: [Snowflake] = []
        var rest = content[...]
        while let open = rest.range(of: "<@") {
            var cursor = open.upperBound
            if cursor < rest.endIndex && rest[cursor] == "!" { cursor = rest.index(after: cursor) }
            let digits = rest[cursor...].prefix(while: \.isASCII).prefix(while: \.isNumber)
            let end = digits.endIndex
            if !digits.isEmpty, end < rest.endIndex, rest[end] == ">", let id = Snowflake(digits) {
                if !ids.contains(id) { ids.append(id) }
                rest = rest[rest.index(after: end)...]
            } else {
                rest = rest[open.upperBound...]
            }
        }
        return ids
    }

    /// Whether content pings everyone (`@everyone` or `@here`).
    public static func mentionsEveryone(_ content: String) -> Bool {
        content.contains("@everyone") || content.contains("@here")
    }
}
