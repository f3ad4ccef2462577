/// A number of commands allowed in each fixed window of seconds (Discord counts gateway
/// commands this way: 120 per 60 s).
struct CommandBudget: Sendable {
    let limit: Int
    let window: Double
    private var windowStart: Double
    private var used = 0

    init(limit: Int, window: Double, now: Double) {
        self.limit = limit
        self.window = window
        windowStart = now
    }

    /// Takes one command from the budget: nil when allowed, else the seconds until the next
    /// window opens.
    mutating func take(now: Double) -> Double? {
        if now - windowStart >= window {
            windowStart = now
            used = 0
        }
        guard used < limit else { return windowStart + window - now }
        used += 1
        return nil
    }
}
