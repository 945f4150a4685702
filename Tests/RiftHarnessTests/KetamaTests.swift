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

    /// A heavier server gets more of the ring, a server of weight 0 none of it, and weights of
    /// 1 are the unweighted ring.
    @Test func weightsSizeEachServersShare() {
        let many = (0..<3000).map { "k\($0)" }
        let heavy = KetamaRing(servers: ["n1", "n2", "n3"], weights: [2, 1, 1])
        let share = Double(many.filter { heavy.server(for: $0) == 0 }.count) / Double(many.count)
        #expect(share > 0.4 && share < 0.6, "n1 with weight 2 of 4: \(share)")
        let none = KetamaRing(servers: ["n1", "n2", "n3"], weights: [1, 0, 1])
        #expect(many.allSatisfy { none.server(for: $0) != 1 })
        let even = KetamaRing(servers: ["n1", "n2", "n3"], weights: [1, 1, 1])
        #expect(keys.allSatisfy { even.server(for: $0) == ring.server(for: $0) })
    }

    /// The rebalance search moves the named keys off their server, shifting weight toward
    /// the target and keeping the total, and stops as soon as they are off.
    @Test func rebalanceWeightsMoveTheKeysOff() {
        let servers = ["n1", "n2", "n3"]
        #expect(ring.server(for: "r0") == 2)
        let w = KetamaRing.weights(moving: ["r0"], servers: servers, weights: [1, 1, 1], from: 2, to: 0)
        let moved = KetamaRing(servers: servers, weights: w)
        #expect(moved.server(for: "r0") != 2)
        #expect(w[2] < 1 && w[0] > 1 && w[1] == 1 && abs(w.reduce(0, +) - 3) < 1e-9, "\(w)")
        // One step less and r0 would still be on n3: the search stops at the first that works.
        let step = 0.05
        if w[2] < 1 - step / 2 {
            let before = KetamaRing(servers: servers, weights: [w[0] - step, 1, w[2] + step])
            #expect(before.server(for: "r0") == 2)
        }
        // Every key of n3 at once: at the latest n3 has no weight left.
        let all = keys.filter { ring.server(for: $0) == 2 }
        let drained = KetamaRing(servers: servers, weights: KetamaRing.weights(moving: all, servers: servers, weights: [1, 1, 1], from: 2, to: 0))
        #expect(all.allSatisfy { drained.server(for: $0) != 2 })
    }
}
