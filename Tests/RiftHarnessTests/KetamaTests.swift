import Testing

@testable import RiftHarness

/// The ketama ring and auto-eject, pure: placement, what moves on ejection, when a node returns.
@Suite struct KetamaTests {
    let ring = KetamaRing(servers: ["n1", "n2", "n3"])
    let keys = (0..<300).map { "r\($0)" }

    @Test func spreadsKeysOverEveryServer() {
        var counts = [0, 0, 0]
        for k in keys { counts[ring.server(for: k)!] += 1 }
        #expect(counts.allSatisfy { $0 > 50 }, "\(counts)")
    }

    @Test func ejectingAServerMovesOnlyItsKeys() {
        for k in keys {
            let home = ring.server(for: k)!
            let without = ring.server(for: k) { $0 != 1 }!
            if home == 1 { #expect(without != 1) } else { #expect(without == home) }
        }
        #expect(ring.server(for: "r1") { _ in false } == nil)
        #expect(KetamaRing(servers: []).server(for: "r1") == nil)
    }

    @Test func ejectsAfterTheFailureLimitAndReturnsAfterTheRetryTimeout() {
        var e = EjectionState(failureLimit: 2, retryTimeoutNs: 1_000)
        e.report(1, ok: false, at: 0)
        #expect(e.isLive(1, at: 1))
        e.report(1, ok: true, at: 2)  // a success resets the count
        e.report(1, ok: false, at: 3)
        #expect(e.isLive(1, at: 4))
        e.report(1, ok: false, at: 10)
        #expect(!e.isLive(1, at: 10))
        #expect(!e.isLive(1, at: 1_009))
        #expect(e.isLive(1, at: 1_010))
        #expect(e.isLive(0, at: 10))
        // Back in the ring, two more failures eject it again.
        e.report(1, ok: false, at: 1_011)
        e.report(1, ok: false, at: 1_012)
        #expect(!e.isLive(1, at: 1_500))
    }
}
