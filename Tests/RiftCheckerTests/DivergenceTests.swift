import RiftHistory
import Testing
@testable import RiftChecker

/// The regions' divergence measured from reads: episodes open when two regions' latest reads
/// differ and close when they agree, per key; none without two regions; an episode still open
/// ends at the history's last completion; the summary's max, p99 and total.
@Suite struct DivergenceTests {
    /// Processes 0 and 1 live in us, 2 and 3 in eu.
    static func regional(_ b: HistoryBuilder) throws -> PairedHistory {
        var h = try b.paired()
        h.metadata[PairedHistory.clientRegionsKey] = .object(["us": .list([.int(0), .int(1)]), "eu": .list([.int(2), .int(3)])])
        return h
    }

    @Test func anEpisodeLastsFromTheReadThatDiffersToTheReadThatAgrees() throws {
        var b = HistoryBuilder()
        b.op(0, "write", "k", .int(1), 0, 5)
        b.op(0, "read", "k", .null, 10, 20, output: .int(1))   // us sees 1
        b.op(2, "read", "k", .null, 10, 30, output: .int(1))   // eu agrees
        b.op(1, "write", "k", .int(2), 35, 40)
        b.op(1, "read", "k", .null, 45, 50, output: .int(2))   // us sees 2: differ from 50
        b.op(3, "read", "k", .null, 60, 70, output: .int(1))   // eu still 1
        b.op(2, "read", "k", .null, 80, 150, output: .int(2))  // eu catches up at 150
        let d = try #require(Divergence.measure(try Self.regional(b)))
        #expect(d.regions == ["eu", "us"] && d.keys == 1 && d.episodes == 1)
        #expect(d.maxNs == 100 && d.p99Ns == 100 && d.totalNs == 100)
        #expect(d.perKey == [Divergence.KeyDivergence(key: "k", episodes: 1, maxNs: 100, p99Ns: 100, totalNs: 100, intervals: [[50, 150]])])
    }

    @Test func keysAreMeasuredApartAndSortedByTotal() throws {
        var b = HistoryBuilder()
        // a: differ 10-30 and 40-45; b: differ 10-100 (open until the last completion).
        b.op(0, "read", "a", .null, 0, 5, output: .int(1))
        b.op(2, "read", "a", .null, 0, 10, output: .null)        // absent in eu: a value too
        b.op(3, "read", "a", .null, 20, 30, output: .int(1))
        b.op(1, "read", "a", .null, 35, 40, output: .int(2))
        b.op(2, "read", "a", .null, 41, 45, output: .int(2))
        b.op(1, "read", "b", .null, 0, 5, output: .int(7))
        b.op(3, "read", "b", .null, 0, 10, output: .int(6))
        b.op(0, "write", "c", .int(9), 90, 100)
        let d = try #require(Divergence.measure(try Self.regional(b)))
        #expect(d.keys == 2 && d.episodes == 3)
        #expect(d.perKey.map(\.key) == ["b", "a"])
        #expect(d.perKey[0].intervals == [[10, 100]] && d.perKey[0].totalNs == 90)
        #expect(d.perKey[1].intervals == [[10, 30], [40, 45]] && d.perKey[1].totalNs == 25 && d.perKey[1].maxNs == 20)
        #expect(d.maxNs == 90 && d.totalNs == 115)
    }

    @Test func onlyOkReadsOfRegionalClientsCount() throws {
        var b = HistoryBuilder()
        b.op(0, "read", "k", .null, 0, 5, output: .int(1))
        b.op(2, "read", "k", .null, 0, 6, status: .fail, output: .int(2))  // failed: not observed
        b.op(3, "write", "k", .int(3), 0, 7)                                  // a write is not a read
        b.op(4, "read", "k", .null, 0, 8, output: .int(4))                    // process 4 has no region
        #expect(Divergence.measure(try Self.regional(b)) == nil, "no key read in two regions: nothing to compare")
    }

    @Test func noneWithoutTwoRegions() throws {
        var b = HistoryBuilder()
        b.op(0, "read", "k", .null, 0, 5, output: .int(1))
        b.op(2, "read", "k", .null, 0, 6, output: .int(2))
        #expect(Divergence.measure(try b.paired()) == nil)
        var one = try b.paired()
        one.metadata[PairedHistory.clientRegionsKey] = .object(["us": .list([.int(0), .int(2)])])
        #expect(Divergence.measure(one) == nil)
    }

    @Test func p99IsOverEveryEpisode() throws {
        var b = HistoryBuilder()
        // 100 episodes on one key: 99 of 1 ns, one of 1000 ns.
        var t: Int64 = 0
        b.op(0, "read", "k", .null, t, t + 1, output: .int(0))
        for i in 0..<100 {
            let length: Int64 = i == 50 ? 1000 : 1
            t += 10
            b.op(2, "read", "k", .null, t, t + 1, output: .int(1))           // differ
            b.op(3, "read", "k", .null, t, t + 1 + length, output: .int(0))  // agree again
            t += length
        }
        let d = try #require(Divergence.measure(try Self.regional(b)))
        #expect(d.episodes == 100 && d.maxNs == 1000 && d.p99Ns == 1 && d.totalNs == 1099)
    }
}
