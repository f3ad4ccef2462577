/// How many threads a process gives NIO's event loops, and so Swift concurrency, which runs on
/// them: one per core unless CONCORD_EVENT_LOOPS says otherwise. Where several processes share a
/// machine's cores (`make run`, the benchmarks) one each spares the switches between threads that
/// hand one request's work back and forth.
public enum EventLoops {
    public static let variable = "CONCORD_EVENT_LOOPS"
    public static let most = 256

    /// The count the environment asks for: nil where it asks none, or none in 1...`most`.
    public static func requested(in environment: [String: String]) -> Int? {
        guard let text = environment[variable], let count = Int(text), (1...most).contains(count) else { return nil }
        return count
    }
}
