import Foundation
import RiftCore

/// A bounded multi-producer queue for one consumer thread. `offer` never waits on the
/// consumer: when the queue holds `maxRecords` records or `maxBytes` bytes it drops the record
/// and counts it. That is how the proxy's data path hands records to the pcap writer without
/// ever being slowed by the disk.
// @unchecked: every `var` is touched only with `condition` locked (a condition variable: Mutex cannot wait).
public final class CaptureQueue<Element: Sendable>: @unchecked Sendable {
    public struct Counts: Sendable, Equatable {
        public var enqueued: Int64 = 0
        public var dropped: Int64 = 0
        public var droppedBytes: Int64 = 0
    }

    public let maxRecords: Int
    public let maxBytes: Int
    private let condition = NSCondition()
    private var items: [(Element, Int)] = []
    private var bytes = 0
    private var tally = Counts()
    private var closed = false

    public init(maxRecords: Int, maxBytes: Int) {
        self.maxRecords = max(1, maxRecords)
        self.maxBytes = max(1, maxBytes)
    }

    /// Enqueues `element` (of `size` bytes) unless the queue is full or closed; false when dropped.
    @discardableResult
    public func offer(_ element: Element, size: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, items.count < maxRecords, bytes + size <= maxBytes || items.isEmpty && size <= maxBytes else {
            tally.dropped += 1
            tally.droppedBytes += Int64(size)
            return false
        }
        let wasEmpty = items.isEmpty
        items.append((element, size))
        bytes += size
        tally.enqueued += 1
        if wasEmpty { condition.signal() }
        return true
    }

    /// Everything queued, waiting up to `timeout` for the first record; empty when the wait
    /// timed out or the queue is closed and drained.
    public func takeAll(timeout: Duration) -> [Element] {
        condition.lock()
        defer { condition.unlock() }
        if items.isEmpty && !closed {
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(timeout.totalNanoseconds) / 1e9))
        }
        let taken = items.map(\.0)
        items.removeAll(keepingCapacity: true)
        bytes = 0
        return taken
    }

    /// No more offers are taken (they count as dropped); `takeAll` still drains what is queued.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    public var isClosed: Bool { condition.lock(); defer { condition.unlock() }; return closed }
    public var counts: Counts { condition.lock(); defer { condition.unlock() }; return tally }
}
