import ConcordAuth
import ConcordGateway
import ConcordModels

/// Discord's `session_start_limit` for bots, counted in the bot's home cell's Redis so every
/// edge sees the same budget: at most `dailySessionStarts` IDENTIFYs a day, and
/// `maxConcurrency` of them in any 5 seconds. (People's clients are not limited this way.)
extension GatewayHub {
    static let dailySessionStarts = 1000
    static let maxConcurrency = 1
    static let sessionStartWindowMilliseconds = 86_400_000
    static let identifyGateMilliseconds = 5000

    struct SessionStartLimit: Codable, Equatable {
        var total: Int
        var remaining: Int
        var reset_after: Int
        var max_concurrency: Int
    }

    enum SessionStartRefusal {
        /// Within 5 s of the bot's last IDENTIFY: op 9, and the library identifies again shortly
        /// (Discord answers an IDENTIFY past max_concurrency so).
        case tooSoon
        /// The day's budget is spent: closed with 4008.
        case spent
    }

    /// Counts an IDENTIFY against the bot's budget; answers why it is refused when it is over
    /// budget or too soon after the last one (nil: go ahead). Without Redis, it goes ahead.
    ///
    /// The gate and the day's count (whose window starts at the first start) in one round trip
    /// to the home cell's Redis, maybe in another region. An IDENTIFY turned away for coming too
    /// soon is not a session start: its count is taken back. (Not a script: the edge's Redis user
    /// may not run EVAL.)
    func startSession(_ claims: TokenClaims) async -> SessionStartRefusal? {
        guard claims.isBot, let home = directory.entry(for: claims.userID.cell) else { return nil }
        let (starts, gate) = (Topics.sessionStarts(claims.userID, cell: home.cell.name), Topics.identifyGate(claims.userID, cell: home.cell.name))
        guard let replies = try? await home.redis.pipeline([["SET", gate, "1", "PX", String(Self.identifyGateMilliseconds), "NX"],
                                                            ["INCR", starts],
                                                            ["PEXPIRE", starts, String(Self.sessionStartWindowMilliseconds), "NX"]]),
              replies.count == 3, let count = (try? replies[1].get())?.integer else { return nil }
        if case .success(.null) = replies[0] {
            _ = try? await home.redis.send(["DECR", starts])
            return .tooSoon
        }
        return count > Self.dailySessionStarts ? .spent : nil
    }

    /// What GET /gateway/bot reports: the starts left today and when the day's count resets.
    func sessionStartLimit(_ claims: TokenClaims) async -> SessionStartLimit {
        var limit = SessionStartLimit(total: Self.dailySessionStarts, remaining: Self.dailySessionStarts, reset_after: 0,
                                      max_concurrency: Self.maxConcurrency)
        guard let home = directory.entry(for: claims.userID.cell) else { return limit }
        let starts = Topics.sessionStarts(claims.userID, cell: home.cell.name)
        if let replies = try? await home.redis.pipeline([["GET", starts], ["PTTL", starts]]), replies.count == 2 {
            let used = Int((try? replies[0].get())?.integer ?? 0)
            limit.remaining = max(0, Self.dailySessionStarts - used)
            limit.reset_after = max(0, Int((try? replies[1].get())?.integer ?? 0))
        }
        return limit
    }
}
