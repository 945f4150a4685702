import RiftCapture
import Testing

@Suite struct CaptureQueueTests {
    @Test func aFullQueueDropsAndCountsInsteadOfWaiting() {
        let q = CaptureQueue<Int>(maxRecords: 2, maxBytes: 1000)
        #expect(q.offer(1, size: 10))
        #expect(q.offer(2, size: 10))
        #expect(!q.offer(3, size: 10))
        #expect(!q.offer(4, size: 7))
        let counts = q.counts
        #expect(counts.enqueued == 2 && counts.dropped == 2 && counts.droppedBytes == 17)
        #expect(q.takeAll(timeout: .zero) == [1, 2])
        #expect(q.offer(5, size: 10), "draining makes room again")
    }

    @Test func theByteLimitBoundsQueuedPayload() {
        let q = CaptureQueue<Int>(maxRecords: 100, maxBytes: 100)
        #expect(q.offer(1, size: 60))
        #expect(!q.offer(2, size: 60))
        #expect(q.offer(3, size: 40))
        #expect(q.counts.dropped == 1)
        #expect(q.takeAll(timeout: .zero) == [1, 3])
    }

    @Test func aClosedQueueTakesNothingNewButDrains() {
        let q = CaptureQueue<Int>(maxRecords: 10, maxBytes: 100)
        q.offer(1, size: 1)
        q.close()
        #expect(!q.offer(2, size: 1))
        #expect(q.takeAll(timeout: .seconds(5)) == [1])
        #expect(q.takeAll(timeout: .seconds(5)).isEmpty, "closed and empty: no wait")
    }
}
