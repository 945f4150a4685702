import CRiftSys
import Foundation
import NIOCore
import RiftFaults

/// One relayed connection: two sockets and what each direction holds back.
final class RelayConnection {
    enum Side { case client, server }

    let id: UInt64
    let owner: RelayOwner
    let client: Int32
    let server: Int32
    let counters: ByteCounters
    let dialDeadline: UInt64
    private var dialing = true
    private var closed = false
    /// Client to server, and server to client.
    private var up = Flow()
    private var down = Flow()
    private var clientInterest: UInt32 = 0
    private var serverInterest: UInt32 = 0

    struct Flow {
        /// Read from the source, not yet taken by the destination.
        var pending: [UInt8] = []
        var pendingOffset = 0
        /// The source sent its FIN.
        var ended = false
        /// The FIN was passed on (after everything pending).
        var shutDown = false
        var hasPending: Bool { pendingOffset < pending.count }
    }

    init(id: UInt64, owner: RelayOwner, client: Int32, server: Int32, counters: ByteCounters, dialDeadline: UInt64) {
        self.id = id
        self.owner = owner
        self.client = client
        self.server = server
        self.counters = counters
        self.dialDeadline = dialDeadline
    }

    func ready(_ side: Side, events: UInt32, relay: Relay) {
        if dialing {
            // The server socket is watched for the dial's end; the client only reports its
            // own end (reset or hang-up) before we read it.
            var code: Int32 = 0
            var length = socklen_t(4)
            _ = getsockopt(server, SOL_SOCKET, SO_ERROR, &code, &length)
            if side == .server && code == 0 && events & EPOLLOUT.rawValue != 0 {
                connected(relay: relay)
            } else {
                close(relay: relay, resetting: nil)
            }
            return
        }
        let interest = side == .client ? clientInterest : serverInterest
        let readable = events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        if readable && interest & EPOLLIN.rawValue != 0 {
            transfer(from: side, relay: relay)
            if closed { return }
        }
        if events & EPOLLOUT.rawValue != 0 {
            flush(to: side, relay: relay)
            if closed { return }
        }
        if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 && interest & EPOLLIN.rawValue == 0 {
            // Reset or fully closed while we were not reading it: nothing more can pass.
            var code: Int32 = 0
            var length = socklen_t(4)
            _ = getsockopt(side == .client ? client : server, SOL_SOCKET, SO_ERROR, &code, &length)
            close(relay: relay, resetting: code == ECONNRESET ? other(side) : nil)
            return
        }
        updateInterest(relay: relay)
    }

    func connected(relay: Relay) {
        dialing = false
        relay.dialFinished(self)
        updateInterest(relay: relay)
    }

    /// One read from `side`, written straight on to the other side; what the other side does
    /// not take is held, and `side` is not read again until it has.
    private func transfer(from side: Side, relay: Relay) {
        let source = side == .client ? client : server
        let destination = side == .client ? server : client
        let direction: StreamDirection = side == .client ? .upstream : .downstream
        let buffer = relay.readBuffer
        let count = recv(source, buffer.baseAddress, buffer.count, 0)
        if count > 0 {
            counters.addReceived(count, direction: direction)
            counters.add(count, direction: direction)
            let written = send(destination, buffer.baseAddress, count, Int32(MSG_NOSIGNAL))
            if written == count { return }
            if written < 0 && errno != EAGAIN && errno != EINTR {
                // The destination is gone; a reset there is passed on to the source.
                close(relay: relay, resetting: errno == ECONNRESET ? side : nil)
                return
            }
            let taken = max(written, 0)
            let rest = Array(UnsafeRawBufferPointer(start: buffer.baseAddress! + taken, count: count - taken))
            if side == .client { up.pending = rest; up.pendingOffset = 0 } else { down.pending = rest; down.pendingOffset = 0 }
        } else if count == 0 {
            if side == .client { up.ended = true } else { down.ended = true }
            passEnd(from: side)
        } else if errno != EAGAIN && errno != EINTR {
            close(relay: relay, resetting: errno == ECONNRESET ? other(side) : nil)
        }
    }

    /// Writes what is held for `side`.
    private func flush(to side: Side, relay: Relay) {
        let destination = side == .client ? client : server
        var flow = side == .client ? down : up
        guard flow.hasPending else { return }
        let written = flow.pending.withUnsafeBytes { bytes in
            send(destination, bytes.baseAddress! + flow.pendingOffset, bytes.count - flow.pendingOffset, Int32(MSG_NOSIGNAL))
        }
        if written < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            close(relay: relay, resetting: errno == ECONNRESET ? other(side) : nil)
            return
        }
        flow.pendingOffset += written
        if !flow.hasPending { flow.pending = []; flow.pendingOffset = 0 }
        if side == .client { down = flow } else { up = flow }
        if !flow.hasPending { passEnd(from: other(side)) }
    }

    /// Passes a FIN from `side` on once everything before it has been written; when both
    /// directions have ended, the connection is done.
    private func passEnd(from side: Side) {
        let flow = side == .client ? up : down
        guard flow.ended, !flow.shutDown, !flow.hasPending else { return }
        _ = shutdown(side == .client ? server : client, Int32(SHUT_WR))
        if side == .client { up.shutDown = true } else { down.shutDown = true }
    }

    func updateInterest(relay: Relay) {
        guard !closed else { return }
        if up.shutDown && down.shutDown {
            close(relay: relay, resetting: nil)
            return
        }
        var clientWants: UInt32 = 0, serverWants: UInt32 = 0
        if dialing {
            serverWants = EPOLLOUT.rawValue
        } else {
            if !up.ended && !up.hasPending { clientWants |= EPOLLIN.rawValue }
            if !down.ended && !down.hasPending { serverWants |= EPOLLIN.rawValue }
            if up.hasPending { serverWants |= EPOLLOUT.rawValue }
            if down.hasPending { clientWants |= EPOLLOUT.rawValue }
        }
        if clientWants != clientInterest { relay.modify(client, events: clientWants); clientInterest = clientWants }
        if serverWants != serverInterest { relay.modify(server, events: serverWants); serverInterest = serverWants }
    }

    /// Closes both sockets; `resetting` is sent a reset instead of a FIN.
    func close(relay: Relay, resetting: Side?) {
        guard !closed else { return }
        closed = true
        if let resetting {
            var hard = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(resetting == .client ? client : server, SOL_SOCKET, SO_LINGER, &hard, socklen_t(MemoryLayout<linger>.size))
        }
        relay.unregister(client)
        relay.unregister(server)
        Glibc.close(client)
        Glibc.close(server)
        relay.forget(self)
        owner.closed(id)
    }

    /// Leaves the relay: the sockets go to the caller with what was held back.
    func handOver(relay: Relay) -> RelayHandover {
        closed = true
        relay.unregister(client)
        relay.unregister(server)
        relay.dialFinished(self)
        var serverFD: Int32? = server
        if dialing {
            Glibc.close(server)
            serverFD = nil
        }
        return RelayHandover(
            id: id, clientFD: client, serverFD: serverFD,
            pendingUpstream: Array(up.pending[up.pendingOffset...]),
            pendingDownstream: Array(down.pending[down.pendingOffset...]))
    }

    private func other(_ side: Side) -> Side { side == .client ? .server : .client }
}
