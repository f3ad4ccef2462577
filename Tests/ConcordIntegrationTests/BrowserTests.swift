import Foundation
import Testing

/// The web client in a real browser: Debian's headless Chromium driven by Selenium, two people
/// chatting through a running edge and cell (`Tests/Browser/chat_flow.py`), and an owner moderating. Screenshots of the
/// chat view are left in `.build/test-artifacts/`.
@Suite("Web client in a browser")
struct BrowserTests {
    static let available = ProcessInfo.processInfo.environment["CONCORD_TEST_BROWSER"] != nil && PythonScript.python != nil
    static let artifacts = ProcessInfo.processInfo.environment["CONCORD_TEST_ARTIFACTS"]
        ?? PythonScript.testsDirectory.deletingLastPathComponent().appendingPathComponent(".build/test-artifacts").path

    @Test(.enabled(if: available, "chromium, chromium-driver or selenium could not be installed (see make test's output)"))
    func twoPeopleChat() async throws {
        try await TestCluster.with { c in
            let (status, log) = try await PythonScript.run("Browser/chat_flow.py", [c.edgeURL, Self.artifacts], timeout: .seconds(300))
            #expect(status == 0, "browser flow failed:\n\(log)")
            for step in ["bob joined through the invite link and sees #general", "each sees the other's online dot", "bob sees alice's message live",
                         "the reply shows the quoted original", "bob sees that alice is typing",
                         "Up edits the last own message and bob sees it edited", "alice deleted a message and it disappeared for bob",
                         "a <script> message shows as text and runs nothing", "mentions render as names", "links are clickable", "an unread mention shows as a badge on the channel",
                         "reading the channel clears its badge", "after a reload #history is still read (the ack was saved)",
                         "scroll-back loads all 300 messages once, in order", "bob sees the disconnected banner",
                         "after reconnecting bob has the missed message exactly once", "screenshots saved"] {
                #expect(log.contains("ok: \(step)"), "missing step: \(step)")
            }
        }
    }

    /// Markdown, files, reactions and pins between two browsers (`Tests/Browser/rich_flow.py`).
    @Test(.enabled(if: available, "chromium, chromium-driver or selenium could not be installed (see make test's output)"))
    func twoPeopleShareFilesReactAndPin() async throws {
        try await TestCluster.with { c in
            let (status, log) = try await PythonScript.run("Browser/rich_flow.py", [c.edgeURL, Self.artifacts], timeout: .seconds(240))
            #expect(status == 0, "browser rich-message flow failed:\n\(log)")
            for step in ["markdown renders as Discord's (bold, italics, underline, strike, code, spoiler, quote, code block)",
                         "a spoiler is hidden until clicked",
                         "an embed renders (linked title, description with markdown, fields, footer, colour)", "an uploaded image shows as a preview", "a file is a download link that gives its bytes",
                         "the upload finished and cleared the pending files", "a reaction shows for the other person live",
                         "clicking a reaction adds one's own, and counts follow", "clicking one's own reaction takes it back",
                         "a member who cannot manage messages is not offered Pin",
                         "a pin shows on the message, as a notice, and in the pinned list", "unpinning empties the open pinned list", "screenshots saved"] {
                #expect(log.contains("ok: \(step)"), "missing step: \(step)")
            }
        }
    }

    /// DMs from the member list, badges and notifications, channel URLs, and staying signed
    /// in (`Tests/Browser/dm_flow.py`).
    @Test(.enabled(if: available, "chromium, chromium-driver or selenium could not be installed (see make test's output)"))
    func directMessagesURLsAndStayingSignedIn() async throws {
        try await TestCluster.with { c in
            let (status, log) = try await PythonScript.run("Browser/dm_flow.py", [c.edgeURL, Self.artifacts], timeout: .seconds(240))
            #expect(status == 0, "browser DM flow failed:\n\(log)")
            for step in ["staying signed in keeps the token for every tab", "the URL names the channel",
                         "a DM opens from the member list, with its own URL", "the DM shows in the other's sidebar with an unread badge",
                         "a desktop notification announces the DM", "opening the DM shows the message and clears the badge",
                         "the reply arrives live", "after a reload the same DM is open (still signed in)", "the back button returns to the DM",
                         "a new tab is signed in", "without staying signed in, a new tab asks to log in", "screenshots saved"] {
                #expect(log.contains("ok: \(step)"), "missing step: \(step)")
            }
        }
    }

    /// An owner's roles screen, channel permissions and member menu, and a member's browser
    /// following each change (`Tests/Browser/moderation_flow.py`).
    @Test(.enabled(if: available, "chromium, chromium-driver or selenium could not be installed (see make test's output)"))
    func anOwnerModeratesFromTheWebClient() async throws {
        try await TestCluster.with { c in
            let (status, log) = try await PythonScript.run("Browser/moderation_flow.py", [c.edgeURL, Self.artifacts], timeout: .seconds(240))
            #expect(status == 0, "browser moderation flow failed:\n\(log)")
            for step in ["a member without rights has no settings button", "the owner created a role in the settings screen",
                         "making #secret private hides it from the member's sidebar",
                         "a single member can be let into the private channel and out again", "giving the member the role shows #secret again",
                         "where the member cannot send, the composer says so", "a timed-out member sees why they cannot send",
                         "a kicked member's browser leaves the workspace", "the kick and the timeout are in the audit log"] {
                #expect(log.contains("ok: \(step)"), "missing step: \(step)")
            }
        }
    }
}
