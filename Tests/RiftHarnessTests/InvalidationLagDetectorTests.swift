import Testing

@testable import RiftHarness

/// The invalidation bus's message format and the lag detector, without a bus: fed messages and
/// read times by hand, as an invalidator feeds them.
@Suite struct InvalidationLagDetectorTests {
    let ms: Int64 = 1_000_000

    func detector(families: [Int] = [0, 1]) -> InvalidationLagDetector {
        InvalidationLagDetector(families: families, maxLagNs: 500 * ms, holdNs: 5_000 * ms, startNs: 0)
    }

    func change(_ seq: Int64, at t: Int64, key: String = "c0", version: Int64 = 2) -> BusMessage {
        .change(seq: seq, originNs: t, key: key, version: version)
    }

    @Test func messagesRoundTripAndBadTextIsRefused() {
        let c = change(7, at: 123, key: "c12", version: 9)
        #expect(c.text == "7 123 c12 9" && BusMessage(text: c.text) == c)
        let h = BusMessage.heartbeat(seq: 0, originNs: 55)
        #expect(h.text == "0 55" && BusMessage(text: h.text) == h)
        for bad in ["", "7", "7 123 c1", "x 123", "7 123 c1 0", "0 123 c1 2", "7 123  2", "-1 5", "7 123 c1 2 extra"] {
            #expect(BusMessage(text: bad) == nil, "\(bad)")
        }
        #expect(BusMessage.channel(family: 3) == "rift-invalidations.3" && BusMessage.family(ofChannel: "rift-invalidations.3") == 3)
        #expect(BusMessage.family(ofChannel: "other.3") == nil && BusMessage.family(ofChannel: "rift-invalidations.x") == nil)
    }

    @Test func inOrderOnTimeChangesAreNoEvidence() {
        var d = detector()
        for seq in Int64(1)...5 {
            #expect(d.observe(change(seq, at: seq * 10 * ms), family: 0, nowNs: seq * 10 * ms + 2 * ms) == nil)
        }
        #expect(d.observe(.heartbeat(seq: 5, originNs: 60 * ms), family: 0, nowNs: 61 * ms) == nil)
        #expect(!d.isLagging(0, atNs: 62 * ms) && d.laggingUntil(0) == .min)
    }

    @Test func aSkippedSequenceNumberIsAGapAndTheFamilyLagsForTheHold() {
        var d = detector()
        #expect(d.observe(change(1, at: 0), family: 0, nowNs: ms) == nil)
        #expect(d.observe(change(4, at: 10 * ms), family: 0, nowNs: 11 * ms) == .gap(missed: 2))
        #expect(d.isLagging(0, atNs: 11 * ms) && d.isLagging(0, atNs: 5_010 * ms))
        #expect(!d.isLagging(0, atNs: 5_011 * ms) && d.laggingUntil(0) == 5_011 * ms)
        // The other family is not affected.
        #expect(!d.isLagging(1, atNs: 12 * ms))
        // A lost first change is a gap too (numbers start at 1).
        #expect(d.observe(change(2, at: 0, key: "c1"), family: 1, nowNs: ms) == .gap(missed: 1))
    }

    @Test func aHeartbeatNamingAnUnseenChangeIsAGap() {
        var d = detector()
        #expect(d.observe(change(1, at: 0), family: 0, nowNs: ms) == nil)
        #expect(d.observe(.heartbeat(seq: 3, originNs: 100 * ms), family: 0, nowNs: 101 * ms) == .gap(missed: 2))
        // The change after it follows on from the heartbeat's number.
        #expect(d.observe(change(4, at: 150 * ms), family: 0, nowNs: 151 * ms) == nil)
    }

    @Test func aLateChangeIsLagAndARepeatIsIgnored() {
        var d = detector()
        #expect(d.observe(change(1, at: 0), family: 0, nowNs: 500 * ms) == nil)
        #expect(d.observe(change(2, at: 0), family: 0, nowNs: 501 * ms) == .late(byNs: 501 * ms))
        #expect(d.laggingUntil(0) == 5_501 * ms)
        // A repeat (or an old number) moves nothing back and gives no evidence.
        #expect(d.observe(change(1, at: 600 * ms), family: 0, nowNs: 601 * ms) == nil)
        #expect(d.observe(change(3, at: 700 * ms), family: 0, nowNs: 701 * ms) == nil)
        #expect(d.laggingUntil(0) == 5_501 * ms)
    }

    @Test func aSilentChannelLagsOncePerMaxLag() {
        var d = detector()
        #expect(d.nextSilenceNs == 500 * ms)
        #expect(d.silences(nowNs: 499 * ms).isEmpty)
        _ = d.observe(.heartbeat(seq: 0, originNs: 300 * ms), family: 1, nowNs: 300 * ms)
        let first = d.silences(nowNs: 500 * ms)
        #expect(first.map(\.family) == [0] && first.map(\.forNs) == [500 * ms])
        #expect(d.isLagging(0, atNs: 501 * ms) && !d.isLagging(1, atNs: 501 * ms))
        // Each silence is reported once per max lag, and counts as heard.
        #expect(d.silences(nowNs: 700 * ms).map(\.family) == [])
        #expect(d.nextSilenceNs == 800 * ms)
        #expect(d.silences(nowNs: 1_000 * ms).map(\.family) == [0, 1])
    }

    @Test func unwatchedFamiliesAreIgnored() {
        var d = detector(families: [1])
        #expect(d.observe(change(9, at: 0), family: 0, nowNs: ms) == nil)
        #expect(!d.isLagging(0, atNs: ms) && d.laggingUntil(0) == .min)
    }
}
