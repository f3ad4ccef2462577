import ConcordModels
import Testing

/// The bookkeeping shared by the cells' PostgreSQL pool and the edges' pool of cell connections.
@Suite struct ConnectionPlacesTests {
    typealias Places = ConnectionPlaces<Int, String>

    static func idle(_ grant: ConnectionGrant<Int>?) -> Int? {
        guard case .idle(let connection) = grant else { return nil }
        return connection
    }

    static func isOpen(_ grant: ConnectionGrant<Int>?) -> Bool {
        guard case .open = grant else { return false }
        return true
    }

    @Test func placesAreGrantedUpToTheMaximumThenCallsWaitInTurn() {
        var places = Places(maximum: 2)
        #expect(Self.isOpen(places.grant(alive: { _ in true })))
        #expect(Self.isOpen(places.grant(alive: { _ in true })))
        #expect(places.grant(alive: { _ in true }) == nil, "every place taken")
        #expect(places.open == 2)
        places.wait("first", id: 1)
        places.wait("second", id: 2)
        #expect(places.waiting == 2)
        // A connection back goes to the first waiter; a place freed, to the next, as leave to open.
        let handed = places.giveBack(10)
        #expect(handed?.0 == "first" && Self.idle(handed?.1) == 10)
        #expect(places.freePlace() == "second")
        #expect(places.open == 2, "both places passed on, none freed")
        // With nobody waiting: idle, and a freed place is one fewer taken.
        #expect(places.giveBack(10) == nil)
        #expect(places.freePlace() == nil)
        #expect(places.open == 1)
        #expect(Self.idle(places.grant(alive: { _ in true })) == 10)
    }

    @Test func theLastBackIsLentFirstPreferredOnesBeforeItAndTheDeadAreLetGo() {
        var places = Places(maximum: 4)
        for _ in 0..<4 { _ = places.grant(alive: { _ in true }) }
        for connection in [1, 2, 3, 4] { _ = places.giveBack(connection) }
        #expect(Self.idle(places.grant(alive: { _ in true }, preferred: { $0 == 2 })) == 2)
        // 4 is dead: let go, its place freed; the next is 3.
        #expect(Self.idle(places.grant(alive: { $0 != 4 })) == 3)
        #expect(places.open == 3)
        #expect(Self.idle(places.grant(alive: { _ in true })) == 1)
        #expect(Self.isOpen(places.grant(alive: { _ in true })), "a place freed by the dead one")
        #expect(places.grant(alive: { _ in true }) == nil)
    }

    @Test func aWaiterThatStopsWaitingLeavesTheQueue() {
        var places = Places(maximum: 1)
        _ = places.grant(alive: { _ in true })
        places.wait("a", id: 1)
        places.wait("b", id: 2)
        #expect(places.stopWaiting(1) == "a")
        #expect(places.stopWaiting(1) == nil, "once")
        #expect(places.giveBack(7)?.0 == "b")
    }

    @Test func idleConnectionsAreSweptForgottenAndShutDown() {
        var places = Places(maximum: 3)
        for _ in 0..<3 { _ = places.grant(alive: { _ in true }) }
        _ = places.giveBack(1)
        let cutoff = ContinuousClock.now
        _ = places.giveBack(2)
        #expect(places.takeIdle(since: cutoff) == [1], "idle since before the cutoff")
        #expect(places.open == 2)
        #expect(places.forget(matching: { $0 == 2 }) == nil)
        #expect(places.open == 1)
        #expect(places.forget(matching: { $0 == 2 }) == nil && places.open == 1, "not idle: nothing freed")
        _ = places.giveBack(3)
        places.wait("w", id: 1)
        let emptied = places.shutDown()
        #expect(emptied.idle == [3] && emptied.waiters == ["w"])
        #expect(places.open == 0 && places.waiting == 0)
    }
}
