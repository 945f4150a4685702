/// Puts one direction of a TCP connection back in order: bytes come out once, in sequence,
/// whatever order segments arrive in and however often they are retransmitted.
///
/// Out-of-order segments wait until the gap before them fills, up to `maxPendingBytes`; past
/// that the stream is marked `overflowed` and yields nothing more (its operations become
/// indeterminate rather than wrong).
public struct StreamReassembler: Sendable {
    public let maxPendingBytes: Int
    /// The sequence number of the next byte to deliver; nil until the SYN or first segment.
    public private(set) var next: UInt32?
    private var pending: [UInt32: ArraySlice<UInt8>] = [:]
    public private(set) var pendingBytes = 0
    public private(set) var overflowed = false

    public init(maxPendingBytes: Int = 16 << 20) {
        self.maxPendingBytes = maxPendingBytes
    }

    /// A SYN: data starts at `seq + 1`.
    public mutating func syn(seq: UInt32) {
        if next == nil { next = seq &+ 1 }
    }

    /// A segment's payload; returns the bytes that are now in order and new.
    public mutating func segment(seq: UInt32, _ payload: ArraySlice<UInt8>) -> [UInt8] {
        guard !overflowed, !payload.isEmpty else { return [] }
        if next == nil { next = seq }  // joined mid-stream
        var out: [UInt8] = []
        take(seq: seq, payload, into: &out)
        // Anything waiting that now touches the delivered edge.
        var progressed = true
        while progressed && !pending.isEmpty {
            progressed = false
            for (s, bytes) in pending where Int32(bitPattern: s &- next!) <= 0 {
                pending[s] = nil
                pendingBytes -= bytes.count
                take(seq: s, bytes, into: &out)
                progressed = true
            }
        }
        return out
    }

    private mutating func take(seq: UInt32, _ payload: ArraySlice<UInt8>, into out: inout [UInt8]) {
        let ahead = Int(Int32(bitPattern: seq &- next!))
        if ahead > 0 {
            if let held = pending[seq], held.count >= payload.count { return }
            pendingBytes += payload.count - (pending[seq]?.count ?? 0)
            pending[seq] = payload
            if pendingBytes > maxPendingBytes {
                overflowed = true
                pending = [:]
                pendingBytes = 0
            }
            return
        }
        let skip = -ahead
        guard payload.count > skip else { return }  // a pure retransmission
        let fresh = payload.dropFirst(skip)
        out.append(contentsOf: fresh)
        next = next! &+ UInt32(truncatingIfNeeded: fresh.count)
    }
}
