import RiftRecord
import Testing

@Suite struct StreamReassemblerTests {
    func bytes(_ s: String) -> ArraySlice<UInt8> { ArraySlice(Array(s.utf8)) }

    @Test func inOrderSegmentsComeOutAsTheyAre() {
        var r = StreamReassembler()
        r.syn(seq: 99)
        #expect(r.segment(seq: 100, bytes("abc")) == Array("abc".utf8))
        #expect(r.segment(seq: 103, bytes("de")) == Array("de".utf8))
        #expect(r.next == 105)
    }

    @Test func outOfOrderSegmentsWaitForTheGap() {
        var r = StreamReassembler()
        r.syn(seq: 0)
        #expect(r.segment(seq: 7, bytes("ghi")).isEmpty)
        #expect(r.segment(seq: 4, bytes("def")).isEmpty)
        #expect(r.pendingBytes == 6)
        #expect(r.segment(seq: 1, bytes("abc")) == Array("abcdefghi".utf8))
        #expect(r.pendingBytes == 0)
    }

    @Test func retransmissionsAndOverlapsAreDeliveredOnce() {
        var r = StreamReassembler()
        r.syn(seq: 1000)
        #expect(r.segment(seq: 1001, bytes("hello")) == Array("hello".utf8))
        #expect(r.segment(seq: 1001, bytes("hello")).isEmpty, "a pure retransmission")
        #expect(r.segment(seq: 1004, bytes("lo world")) == Array(" world".utf8), "an overlap keeps only the new part")
        // A retransmitted copy of an out-of-order segment does not double it.
        #expect(r.segment(seq: 1014, bytes("XY")).isEmpty)
        #expect(r.segment(seq: 1014, bytes("XY")).isEmpty)
        #expect(r.segment(seq: 1012, bytes("!!")) == Array("!!XY".utf8))
    }

    @Test func sequenceNumbersWrapAround() {
        var r = StreamReassembler()
        r.syn(seq: 0xFFFF_FFFD)
        #expect(r.segment(seq: 0x0000_0001, bytes("cd")).isEmpty)
        #expect(r.segment(seq: 0xFFFF_FFFE, bytes("ab!")) == Array("ab!cd".utf8))
        #expect(r.next == 3)
    }

    @Test func tooMuchOutOfOrderDataMarksTheStreamLost() {
        var r = StreamReassembler(maxPendingBytes: 8)
        r.syn(seq: 0)
        #expect(r.segment(seq: 10, bytes("12345")).isEmpty)
        #expect(r.segment(seq: 20, bytes("67890")).isEmpty)
        #expect(r.overflowed)
        #expect(r.segment(seq: 1, bytes("a")).isEmpty, "a lost stream yields nothing more")
    }

    @Test func joiningMidStreamStartsAtTheFirstSegment() {
        var r = StreamReassembler()
        #expect(r.segment(seq: 5000, bytes("+OK\r\n")) == Array("+OK\r\n".utf8))
    }
}
