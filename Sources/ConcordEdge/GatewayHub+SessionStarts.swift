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
    func startSession(_ claims: TokenClaims) async -> SessionStartRefusal? {
        guard claims.isBot, let home = directory.entry(for: claims.userID.cell) else { return nil }
        let (starts, gate) = (Topics.sessionStarts(claims.userID, cell: home.cell.name), Topics.identifyGate(claims.userID, cell: home.cell.name))
        // One round trip to the home cell's Redis (maybe in another region), not one per step.
        guard let reply = try? await home.redis.send(["EVAL", Self.sessionStartScript, "2", gate, starts,
                                                      String(Self.identifyGateMilliseconds), String(Self.sessionStartWindowMilliseconds)]),
              let count = reply.integer else { return nil }
        if count < 0 { return .tooSoon }
        return count > Self.dailySessionStarts ? .spent : nil
    }

    /// The gate first (an IDENTIFY turned away for coming too soon is not a session start, -1),
    /// then the day's count, whose window starts at the first start.
    static let sessionStartScript = """
        if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return -1 end
        local count = redis.call('INCR', KEYS[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[2], 'NX')
        return count
        """

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
