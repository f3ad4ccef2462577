import ArgumentParser
import ConcordGateway
import Dispatch
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Gateway fan-out: S sessions on one edge, all members of one channel; a sender posts at a
/// fixed rate and every session's receipt of every message is timed.
struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "S gateway sessions in one channel; a paced sender; delivery latency, deliveries/s, edge RSS per session.")
    @Option(help: "The edge's base URL.") var edge: String = "http://127.0.0.1:58080"
    @Option(help: "A file with one Authorization value per line; sessions cycle through them.") var tokens: String
    @Option(help: "The Authorization value of the sender (not one of the sessions).") var senderToken: String
    @Option(help: "A file of senders' Authorization values, one per line; messages rotate through them (instead of --sender-token).")
    var senderTokens: String?
    @Option(help: "The edge the sender posts through (default: --edge).") var postEdge: String?
    @Option var channel: String
    @Option var sessions: Int = 1000
    @Option(help: "Messages per second the sender posts.") var rate: Double = 10
    @Option var seconds: Double = 10
    @Option(help: "The edge's process id, for its RSS and CPU.") var edgePid: Int32?
    @Option(help: "Sessions connecting at once.") var connectConcurrency: Int = 100
    @Option(help: "Event loop threads of this load generator.") var threads: Int = 1
    @Option(help: "Seconds after READY of each session's first heartbeat, which acknowledges READY and GUILD_CREATE (default: at a random point of the interval, so most sessions measured as idle have not yet).")
    var firstHeartbeat: Double?
    @Option(help: "How many of the sessions may view the channel (default: all of them).") var receivers: Int?
    @Option(help: "The sessions' transport compression: zlib-stream or zstd-stream (default: none).") var compress: String?
    @Option(help: "A file this command creates when the sending starts (all sessions are in), to profile just the deliveries.")
    var sendingFile: String?
    @Option(help: "A file this command creates once every session is ready (before the idle pause), to measure just the identifies.")
    var joinedFile: String?
    @Option(help: "Sessions that identify and leave (close 1000) before the idle baseline is read, so it holds the edge's one-time costs of its first identifies.")
    var warmup: Int = 0
    @Option(help: "A file this command creates when the warm-up is over, before the sessions measured connect.")
    var warmedFile: String?
    @Option(help: "Seconds to stay quiet after the idle reading, then read the edge's RSS again (past the edge's release of idle sockets' compression contexts: gateway_compression_idle_seconds).")
    var quietReading: Double?
    @Option(help: "A file to write each message's timeline into: its number, its REST 200 and its last delivery, in ms from the first post (where latency spikes fall in the run).")
    var timelineFile: String?

    func run() async throws {
        // Many senders, as a busy channel has: one author's posts wait on each other's read-state row.
        let senders = try senderTokens.map { try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty } }
            ?? [senderToken]
        guard !senders.isEmpty else { throw ValidationError("no sender tokens") }
        let tokenList = try String(contentsOfFile: tokens, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard let url = URL(string: edge), let host = url.host, let port = url.port else { throw ValidationError("bad --edge") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let first = firstHeartbeat.map { TimeAmount.milliseconds(Int64($0 * 1000)) }
        let logs = (0..<sessions).map { _ in SessionLog(firstHeartbeat: first) }
        let compression = try compress.map { name in
            guard let known = GatewayCompression(rawValue: name) else { throw ValidationError("--compress: zlib-stream or zstd-stream") }
            return known
        }
        let coldRSS = edgePid.flatMap(ProcessStats.rssKB)
        if warmup > 0 {
            let warming = (0..<warmup).map { _ in SessionLog(firstHeartbeat: first) }
            _ = await SessionPool.connect(warming, tokens: tokenList, host: host, port: port, compression: compression,
                                          concurrency: connectConcurrency, group: group, label: "warm-up")
            await withTaskGroup(of: Void.self) { leaving in
                for log in warming { leaving.addTask { await FanoutSession.leave(log) } }
            }
            // Past the edge's return of freed heap, and the bots' identify gate (one per 5 s).
            try await Task.sleep(for: .seconds(5.5))
        }
        if let warmedFile { _ = FileManager.default.createFile(atPath: warmedFile, contents: Data()) }
        let residentBefore = edgePid.flatMap(ProcessStats.resident)
        let connected = await SessionPool.connect(logs, tokens: tokenList, host: host, port: port, compression: compression,
                                                  concurrency: connectConcurrency, group: group, label: "fan-out")
        if let joinedFile { _ = FileManager.default.createFile(atPath: joinedFile, contents: Data()) }
        // Past the sessions' first heartbeat, and the edge's return of freed heap after a burst.
        try await Task.sleep(for: .seconds(3))
        if let before = residentBefore, let after = edgePid.flatMap(ProcessStats.resident) {
            print(String(format: "edge RSS: %.1f MB before, %.1f MB with %d idle sessions = %.1f KB per idle session (%@)",
                         Double(before.all) / 1024, Double(after.all) / 1024, connected, Double(after.all - before.all) / Double(max(connected, 1)),
                         firstHeartbeat == nil ? "most not yet past their first heartbeat" : "each past its first heartbeat"))
            print(String(format: "edge RSS in parts: anonymous (heap) %.1f → %.1f MB = %.1f KB per idle session; file pages (code) %.1f → %.1f MB",
                         Double(before.anonymous) / 1024, Double(after.anonymous) / 1024,
                         Double(after.anonymous - before.anonymous) / Double(max(connected, 1)), Double(before.file) / 1024, Double(after.file) / 1024))
            if warmup > 0, let cold = coldRSS {
                print(String(format: "edge RSS: %.1f MB at start; %.1f MB after %d sessions came and left (the edge's one-time costs) = %.1f KB per idle session counted from the start",
                             Double(cold) / 1024, Double(before.all) / 1024, warmup, Double(after.all - cold) / Double(max(connected, 1))))
            }
            if let quiet = quietReading {
                try await Task.sleep(for: .seconds(quiet))
                if let later = edgePid.flatMap(ProcessStats.resident) {
                    print(String(format: "edge RSS after %.0f s more of quiet (past the release of idle zlib contexts; a zstd stream keeps its): %.1f MB = %.1f KB per idle session",
                                 quiet, Double(later.all) / 1024, Double(later.all - before.all) / Double(max(connected, 1))))
                }
            }
        }

        // Send at a fixed rate (open loop), timing each POST's start and its 200.
        // Open loop: enough connections that a post never waits for another's answer (8 capped
        // the offered rate near 1,000/s at ~8 ms a post).
        let count = Int(rate * seconds)
        let sent = SendTimes()
        let edgeCPUBefore = edgePid.flatMap(ProcessStats.cpuSeconds)
        let rssBeforeSending = edgePid.flatMap(ProcessStats.rssKB)
        let ownCPUBefore = ProcessStats.ownCPUSeconds()
        if let sendingFile { _ = FileManager.default.createFile(atPath: sendingFile, contents: Data()) }
        let sendStart = DispatchTime.now().uptimeNanoseconds
        let postPath = "/api/v10/channels/\(channel)/messages"
        try await callOpenLoop(baseURL: postEdge ?? edge, count: count, rate: rate, connections: 64, start: sendStart, { connection, k in
            try connection.exchange(connection.request(method: "POST", path: postPath,
                                                       headers: [("Authorization", senders[k % senders.count]), ("Content-Type", "application/json")],
                                                       body: Array(#"{"content":"fanout \#(k)"}"#.utf8)))
        }, done: { k, start, end, status in
            if status == 200 { sent.times.withLock { $0[k] = (start, end) } } else { sent.refused.withLock { $0[status ?? 0, default: 0] += 1 } }
        })
        let refused = sent.refused.withLock { $0 }
        if !refused.isEmpty {
            print("posts not answered 200: " + refused.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key == 0 ? "no answer" : String($0.key))" }.joined(separator: ", "))
        }
        let expected = sent.times.withLock { $0.count } * min(receivers ?? connected, connected)
        let received = { logs.reduce(0) { $0 + $1.receipts.withLock { $0.count } } }
        for _ in 0..<500 where received() < expected { try await Task.sleep(for: .milliseconds(20)) }
        let windowEnd = DispatchTime.now().uptimeNanoseconds
        let edgeCPUAfter = edgePid.flatMap(ProcessStats.cpuSeconds)
        let rssAfterSending = edgePid.flatMap(ProcessStats.rssKB)
        let edgeCPU = edgeCPUBefore.flatMap { before in edgeCPUAfter.map { $0 - before } }
        let ownCPU = ProcessStats.ownCPUSeconds() - ownCPUBefore

        // Latencies from the sender's 200 (Discord's "acknowledged") and from the POST's start.
        let times = sent.times.withLock { $0 }
        var fromOK: [Double] = []
        var fromStart: [Double] = []
        var lastReceipt: UInt64 = 0
        var duplicates = 0
        fromOK.reserveCapacity(expected)
        fromStart.reserveCapacity(expected)
        for log in logs {
            var seen = Set<Int32>()
            for (k, at) in log.receipts.withLock({ $0 }) {
                if !seen.insert(k).inserted { duplicates += 1 }
                guard let t = times[Int(k)] else { continue }
                fromOK.append(at > t.ok ? Double(at - t.ok) / 1e6 : 0)
                fromStart.append(Double(at - t.start) / 1e6)
                lastReceipt = max(lastReceipt, at)
            }
        }
        if let timelineFile { try Self.writeTimeline(times: times, logs: logs, from: sendStart, to: timelineFile) }
        fromOK.sort()
        fromStart.sort()
        func pct(_ xs: [Double], _ p: Double) -> Double { xs.isEmpty ? .nan : xs[min(xs.count - 1, Int(Double(xs.count) * p))] }
        let window = Double(max(lastReceipt, sendStart + 1) - sendStart) / 1e9
        print(String(format: "fan-out: %d messages at %.0f/s to %d sessions: %d of %d deliveries (%d duplicates) in %.1f s = %.0f deliveries/s",
                     times.count, rate, connected, fromOK.count, expected, duplicates, window, Double(fromOK.count) / window))
        print(String(format: "delivery latency from the REST 200: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     pct(fromOK, 0.5), pct(fromOK, 0.99), fromOK.last ?? .nan))
        print(String(format: "delivery latency from the POST's start: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     pct(fromStart, 0.5), pct(fromStart, 0.99), fromStart.last ?? .nan))
        let closes = Dictionary(grouping: logs.map { $0.closeCode.load(ordering: .relaxed) }.filter { $0 != 0 }, by: { $0 }).mapValues(\.count)
        print("sessions closed by the edge during the run: \(closes.isEmpty ? "none" : closes.map { "\($0.value) with \($0.key)" }.joined(separator: ", "))")
        if let before = rssBeforeSending, let after = rssAfterSending {
            // What delivering left behind: resume buffers (until acknowledged), socket buffers, allocator.
            print(String(format: "edge RSS while delivering: %.1f MB before the first post, %.1f MB after the last delivery (%+.1f KB per session)",
                         Double(before) / 1024, Double(after) / 1024, Double(after - before) / Double(max(connected, 1))))
        }
        let wall = Double(windowEnd - sendStart) / 1e9
        if let edgeCPU {
            print(String(format: "CPU during sending: edge %.0f%% of one core, this load generator %.0f%% (of %d thread(s))",
                         edgeCPU / wall * 100, ownCPU / wall * 100, threads))
            print(String(format: "edge CPU per delivery: %.1f µs (%d sessions, %d of them receiving)",
                         edgeCPU * 1e6 / Double(max(fromOK.count, 1)), connected, min(receivers ?? connected, connected)))
        }
        try await group.shutdownGracefully()
    }

    /// One line per message: its number, its REST 200 and its last delivery (ms from `start`).
    static func writeTimeline(times: [Int: (start: UInt64, ok: UInt64)], logs: [SessionLog], from start: UInt64, to path: String) throws {
        var last: [Int: UInt64] = [:]
        for log in logs {
            for (k, at) in log.receipts.withLock({ $0 }) { last[Int(k)] = max(last[Int(k)] ?? 0, at) }
        }
        func ms(_ t: UInt64) -> String { String(format: "%.2f", Double(Int64(t) - Int64(start)) / 1e6) }
        let lines = times.sorted { $0.key < $1.key }.map { k, time in "\(k) \(ms(time.ok)) \(last[k].map(ms) ?? "-")" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Opens gateway sessions, a bounded number at a time, and waits until each is READY.
enum SessionPool {
    static func connect(_ logs: [SessionLog], tokens: [String], host: String, port: Int, compression: GatewayCompression? = nil, concurrency: Int,
                        group: any EventLoopGroup, label: String) async -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        await withTaskGroup(of: Void.self) { tasks in
            for (i, log) in logs.enumerated() {
                if i >= concurrency { await tasks.next() }
                let token = tokens[i % tokens.count]
                let identify = #"{"op":2,"d":{"token":"\#(token)","intents":\#(1 | 1 << 9 | 1 << 15),"properties":{"os":"linux","browser":"concord-bench","device":"concord-bench"}}}"#
                tasks.addTask {
                    do {
                        for attempt in 0..<5 {
                            // A bot identifies once per 5 s (max_concurrency 1): a retry waits that out.
                            if attempt > 0 { try await Task.sleep(for: .milliseconds(5100)) }
                            // The last attempt's socket has ended before this one's wait begins.
                            try? await log.channel.withLock({ $0 })?.closeFuture.get()
                            log.closeCode.store(0, ordering: .relaxed)
                            log.unsettle()
                            try await FanoutSession.connect(host: host, port: port,
                                                            path: "/gateway?v=10&encoding=json" + (compression.map { "&compress=" + $0.rawValue } ?? ""),
                                                            identify: identify, log: log, compression: compression, group: group)
                            await log.waitUntilSettled(limit: .seconds(60))
                            if log.closeCode.load(ordering: .relaxed) != SessionLog.unreadableStream { break }
                            log.restarts.add(1, ordering: .relaxed)
                        }
                    } catch {
                        if !log.failed.exchange(true, ordering: .relaxed), i < 3 { print("connect failed: \(error)") }
                    }
                }
            }
        }
        let connected = logs.filter { $0.ready.load(ordering: .relaxed) }.count
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "%@: %d/%d sessions ready in %.2f s (%.0f identifies/s), %d failed to connect, %d started over on an unreadable stream",
                     label, connected, logs.count, seconds, Double(connected) / seconds, logs.filter { $0.failed.load(ordering: .relaxed) }.count,
                     logs.reduce(0) { $0 + $1.restarts.load(ordering: .relaxed) }))
        return connected
    }
}

/// When each message's POST started and when its 200 arrived (monotonic nanoseconds).
final class SendTimes: Sendable {
    let times = Mutex<[Int: (start: UInt64, ok: UInt64)]>([:])
    /// Posts not answered 200, by status (0: no answer).
    let refused = Mutex<[Int: Int]>([:])
}

/// Process figures from /proc and getrusage.
enum ProcessStats {
    /// Resident KB, from one read of the process's status: all of it (`VmRSS`) and two of its
    /// parts, `RssAnon` (the heap and stacks: what sessions take) and `RssFile` (pages of the
    /// binary and libraries, shared with every process that maps them).
    struct Resident {
        let all: Int
        let anonymous: Int
        let file: Int
    }

    static func resident(_ pid: Int32) -> Resident? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func kilobytes(_ field: String) -> Int? {
            status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
        }
        guard let all = kilobytes("VmRSS"), let anonymous = kilobytes("RssAnon"), let file = kilobytes("RssFile") else { return nil }
        return Resident(all: all, anonymous: anonymous, file: file)
    }

    static func rssKB(_ pid: Int32) -> Int? { resident(pid)?.all }

    /// User plus system CPU seconds of a process.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
