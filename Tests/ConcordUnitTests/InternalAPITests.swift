@testable import ConcordCell
@testable import ConcordEdge
import ConcordHTTP
import ConcordModels
import Foundation
import Testing

/// The internal API's calls and answers as both sides read them: which refusals a caller may
/// route around (named by the cell in a header, never read from the error's body), and what
/// each call sends and how its answer reads.
@Suite("Internal API")
struct InternalAPITests {
    @Test func onlyRefusalsAnotherCellMightNotMakeAreNamed() {
        #expect(CellRefusal(.movedAway) == .moved)
        #expect(CellRefusal(.unknownChannel) == .notServedHere)
        #expect(CellRefusal(.missingAccess) == .notServedHere)
        #expect(CellRefusal(.profileNotHere) == .profileNotHere)
        #expect(CellRefusal(.unknownUser) == .unknownUser)
        #expect(CellRefusal(.invalidLogin) == .unknownLogin)
        // The same cell would refuse these wherever the request went.
        #expect(CellRefusal(.unknownMessage) == nil)
        #expect(CellRefusal(.unauthorized) == nil)
        #expect(CellRefusal(.invalidForm(.single(["login"], code: "BASE_TYPE_REQUIRED", message: "Required"))) == nil)
        #expect(CellRefusal(.missingPermissions) == nil)
    }

    @Test func theCellNamesItsRefusalInAHeaderAndTheEdgeRoutesByIt() {
        let refused = CellAPI.refusal(.unknownChannel)
        let headers = refused.headers.map { (name: $0.name.rawName, value: $0.value) }
        let reply = CellReply(status: Int(refused.status.code), headers: headers, body: Data())
        #expect(reply.refusal == .notServedHere)
        #expect(EdgeAPI.isElsewhere(reply), "the edge needs no body to route")
        // A body that says "unknown channel" without the cell's header routes nowhere.
        let forged = CellReply(status: 404, body: APIError.unknownChannel.jsonBody())
        #expect(forged.refusal == nil && !EdgeAPI.isElsewhere(forged))
        #expect(CellAPI.refusal(.unknownMessage).headers[.concordRefusal] == nil)
        #expect(CellReply(status: 421, headers: [("x-concord-refusal", "moved")], body: Data()).refusal == .moved,
                "header names are case-insensitive")
    }

    @Test func aRefusalReachesTheCallerAsTheCellsOwnError() {
        let reply = CellReply(status: 403, body: APIError.missingPermissions.jsonBody())
        #expect(reply.error.status == 403 && reply.error.code == APIError.missingPermissions.code)
        #expect(reply.error.message == APIError.missingPermissions.message)
        let opaque = CellReply(status: 502, body: Data("<html>".utf8)).error
        #expect(opaque.status == 502 && opaque.code == 0)
    }

    @Test func callsSayWhatTheySendAndReadWhatTheyGet() throws {
        let page = InternalAPI.relayPage(after: 41, for: 2, follower: "relay-into-eu")
        #expect(page.path == "/internal/outbox?after=41&limit=500&for=2&follower=relay-into-eu" && page.method == "GET")
        // Reading ahead of what the destination has applied: the source is told where that is.
        #expect(InternalAPI.relayPage(after: 41, confirmed: 30, for: 2, follower: "r").path.hasSuffix("&follower=r&confirmed=30"))
        #expect(InternalAPI.relayPage(after: 41, confirmed: 41, for: 2, follower: "r").path.hasSuffix("&follower=r"))
        let read = try page.read(CellReply(status: 200, headers: [("X-Concord-Through", "57"), ("X-Concord-Head", "60")], body: Data(#"[{"seq":42}]"#.utf8)))
        #expect(read.through == 57 && read.head == 60 && read.seqs == [42] && read.json == Data(#"[{"seq":42}]"#.utf8))
        // A source that does not say its head: the relay reads on until a page is empty.
        #expect(try page.read(CellReply(status: 200, body: Data("[]".utf8))).head == nil)

        #expect(try InternalAPI.outboxHead.read(CellReply(status: 200, body: try WireJSON.encode(OutboxPosition(seq: 9)))) == 9)
        let applied = try InternalAPI.relayApply(source: 1, after: 3, through: 9, page: Data("[]".utf8))
            .read(CellReply(status: 200, body: try WireJSON.encode(RelayApplied(applied: 2, cursor: 9))))
        #expect(applied.applied == 2 && applied.cursor == 9)

        let api = InternalAPI.api(method: "POST", path: "/api/v10/channels/1/messages", authorization: "Bot x", body: Data("{}".utf8),
                                  reason: "spam", edgeURL: "https://edge")
        #expect(api.takesRefusals && api.body == Data("{}".utf8))
        #expect(api.headers.map(\.name) == ["Authorization", "X-Audit-Log-Reason", "X-Concord-Edge-URL"])
        #expect(InternalAPI.api(method: "GET", path: "/x", authorization: nil).body == nil, "an empty body is not sent")
        #expect(!InternalAPI.outbox(after: 0).takesRefusals && InternalAPI.outbox(after: 5, settled: true).path.hasSuffix("&settled=1"))
    }
}
