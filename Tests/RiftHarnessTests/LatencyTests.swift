import RiftChecker
import RiftHistory
import Testing

@testable import RiftHarness

/// The latency check, pure: per-node percentiles from a history, and the "spike on one node
/// only" bounds.
@Suite struct LatencyTests {
    /// Reads on `node`, each taking its `ms` milliseconds, invoked 1 s apart from `start`.
    func ops(_ node: String, _ ms: [Int64], start: Int64 = 0, status: OpStatus = .ok) -> [HistoryOperation] {
        ms.enumerated().map { i, l in
            let t = start + Int64(i) * 1_000_000_000
            return HistoryOperation(id: 0, process: .client(0), f: .read, key: "r0", input: .null, output: .null, status: status,
                                    invokeTime: t, completeTime: t + l * 1_000_000, node: node)
        }
    }

    func check(_ ops: [HistoryOperation], node: String?, min: Int64? = nil, othersMax: Int64? = nil, othersMaxP50: Int64? = nil) -> CheckResult {
        let c = LatencyCheck(node: node, minP99Ns: min.map { $0 * 1_000_000 }, othersMaxP99Ns: othersMax.map { $0 * 1_000_000 },
                             othersMaxP50Ns: othersMaxP50.map { $0 * 1_000_000 })
        return Checker.check(CheckContext(PairedHistory(operations: ops)), [c], window: .all)[.latency]!
    }

    @Test func percentilesPerNodeFromOkOperationsOnly() {
        let all = ops("n1", Array(1...100)) + ops("n2", [5, 5, 5]) + ops("n2", [400], status: .info)
        let s = LatencyChecker.perNode(all)
        #expect(s["n1"] == LatencyChecker.Stats(operations: 100, p50Ns: 50_000_000, p99Ns: 99_000_000, maxNs: 100_000_000))
        #expect(s["n2"]?.operations == 3 && s["n2"]?.maxNs == 5_000_000)
    }

    @Test func spikeOnTheNamedNodeOnlyHolds() {
        let all = ops("n1", [1, 2, 3]) + ops("n2", [2, 2]) + ops("n3", [51, 55, 60])
        #expect(check(all, node: "n3", min: 50, othersMax: 30).verdict == .valid)
    }

    @Test func spikeElsewhereFailsBothBounds() {
        let r = check(ops("n1", [51, 55]) + ops("n3", [2, 3]), node: "n3", min: 50, othersMax: 25)
        #expect(r.verdict == .invalid)
        #expect(r.summary.contains("n3 p99") && r.summary.contains("n1 p99"), "\(r.summary)")
        #expect(r.anomalies.first?.operations.first?.node == "n1")
    }

    /// One slow operation on a cold node sets its p99 but not its median: the p50 bound holds
    /// through a scheduling hiccup and still fails when the whole node is slow.
    @Test func othersMedianBoundIgnoresOneSlowOperation() {
        let hiccup = ops("n1", [1, 1, 2, 62]) + ops("n3", [51, 55, 60])
        #expect(check(hiccup, node: "n3", min: 50, othersMax: 30).verdict == .invalid)
        #expect(check(hiccup, node: "n3", min: 50, othersMaxP50: 20).verdict == .valid)
        let slow = check(ops("n1", [51, 52, 55]) + ops("n3", [51, 55, 60]), node: "n3", min: 50, othersMaxP50: 20)
        #expect(slow.verdict == .invalid)
        #expect(slow.summary.contains("n1 p50"), "\(slow.summary)")
    }

    @Test func namedNodeWithoutOperationsIsUnknown() {
        #expect(check(ops("n1", [1]), node: "n3", min: 50).verdict == .unknown)
        #expect(check(ops("n1", [1]), node: nil).verdict == .valid)
    }

    /// `max_p50` / `max_p99` bound every node's operations together: a slow node serving most
    /// operations moves the median, one serving a few moves only the p99.
    @Test func boundsOverAllOperations() {
        func run(_ ops: [HistoryOperation], p50: Int64? = nil, p99: Int64? = nil) -> CheckResult {
            Checker.check(CheckContext(PairedHistory(operations: ops)), [LatencyCheck(node: nil, maxP50Ns: p50.map { $0 * 1_000_000 }, maxP99Ns: p99.map { $0 * 1_000_000 })], window: .all)[.latency]!
        }
        let mostlySlow = ops("n1", [1, 1, 1, 1]) + ops("n2", [50, 50, 50, 50, 50])
        let r = run(mostlySlow, p50: 20)
        #expect(r.verdict == .invalid)
        #expect(r.summary.hasPrefix("all operations p50 50.0 ms > 20.0 ms"), "\(r.summary)")
        #expect(r.anomalies.first?.operations.first?.node == "n2")
        let fewSlow = ops("n1", Array(repeating: 1, count: 9)) + ops("n2", [50])
        #expect(run(fewSlow, p50: 20).verdict == .valid)
        #expect(run(fewSlow, p99: 20).verdict == .invalid)
        #expect(run([], p50: 20).verdict == .unknown)
        // Only ok operations count, as for the per-node figures.
        #expect(run(ops("n1", [1, 1]) + ops("n2", [400, 400, 400], status: .info), p50: 20).verdict == .valid)
    }

    /// Shares per node and per key, the top keys most frequent first, the skew against an even
    /// share; a fleet node that served nothing still counts, and a key served by two nodes
    /// (before and after a move) lists both.
    @Test func keyDistributionSharesAndSkew() {
        var all = ops("n1", [1, 1, 1, 1, 1, 1]) + ops("n2", [1, 1])
        all += ops("n2", [1, 1]).map { var o = $0; o.key = "r1"; return o }
        let load = KeyLoad.measure(all, nodes: ["n1", "n2", "n3"])
        #expect(load.operations == 10)
        #expect(load.perNode["n1"]?.share == 0.6 && load.perNode["n2"]?.operations == 4 && load.perNode["n3"]?.operations == 0)
        #expect(abs(load.skew - 1.8) < 1e-9)
        #expect(load.topKeys.map(\.key) == ["r0", "r1"])
        #expect(load.topKeys[0].nodes == ["n1": 6, "n2": 2] && load.topKeys[0].share == 0.8)
        #expect(KeyLoad.measure([], nodes: ["n1"]).skew == 0)
    }

    /// hot-shard.yaml relies on this placement: its hot key r0 lives on n3.
    @Test func hotShardScenarioKeyPlacement() {
        let ring = KetamaRing(servers: ["n1", "n2", "n3"])
        #expect(ring.server(for: "r0") == 2)
    }
}
