import NIOCore

/// The replies a client is owed, in server order, for frame stages that add replies
/// (`error_reply`), remove them (`replay`'s copies) or count them (`reorder`'s overtaking).
///
/// The stage records one slot per request it forwards that the server answers, per injected
/// reply and per copy it sends; `pass` parses the server's replies on their way to the client
/// and returns what the client must get: replies in place, injected ones inserted after the
/// replies ahead of them, copies' replies removed. A reply goes through as its bytes arrive,
/// unless it is one to remove (then it is held until complete: at most one frame,
/// `WireFrameParser.limits`). Pushes are never paired.
struct ReplyPairing {
    enum Slot {
        /// The reply to a forwarded request; `notifies`: count it in `pass`'s `answered`.
        case server(notifies: Bool)
        case injected(ByteBuffer)
        /// The reply to a copy: never reaches the client.
        case swallow
    }

    private var parser: WireFrameParser
    private var accumulator = ByteBuffer()
    /// Bytes at the head of `accumulator` already passed on.
    private var writtenAhead = 0
    private var slots = CircularBuffer<Slot>(initialCapacity: 4)
    /// Pairing ended (see `lose`): everything passes unparsed.
    private(set) var isLost = false

    init(protocol wireProtocol: WireProtocol) {
        parser = WireFrameParser(protocol: wireProtocol, role: .reply)
    }

    var isEmpty: Bool { slots.isEmpty }
    var pendingInjected: Int { slots.reduce(0) { if case .injected = $1 { return $0 + 1 } else { return $0 } } }
    var pendingSwallows: Int { slots.reduce(0) { if case .swallow = $1 { return $0 + 1 } else { return $0 } } }

    mutating func expect(_ slot: Slot) {
        if !isLost { slots.append(slot) }
    }

    /// What the client gets of `chunk` (in order), and how many notifying replies it completed.
    mutating func pass(_ chunk: ByteBuffer) -> (out: [ByteBuffer], answered: Int) {
        if isLost { return ([chunk], 0) }
        accumulator.writeImmutableBuffer(chunk)
        let snapshot = accumulator
        let ahead = writtenAhead
        var consumed = 0
        var out: [ByteBuffer] = []
        var answered = 0
        do {
            while let frame = try parser.next(&accumulator) {
                consumed += frame.bytes.readableBytes
                var bytes = frame.bytes
                let partlyWritten = writtenAhead > 0
                bytes.moveReaderIndex(forwardBy: writtenAhead)
                writtenAhead = 0
                if frame.isPush {
                    out.append(bytes)
                    continue
                }
                switch slots.popFirst() ?? .server(notifies: false) {
                case .swallow where partlyWritten:
                    // Begun before the copy was sent (an untracked reply): it is not the copy's.
                    out.append(bytes)
                    slots.prepend(.swallow)
                case .swallow: break
                case .server(let notifies):
                    out.append(bytes)
                    if notifies { answered += 1 }
                case .injected(let injected):
                    // Never at the head (injected replies are taken out after each reply).
                    out.append(injected)
                    out.append(bytes)
                }
                while case .injected(let injected) = slots.first {
                    slots.removeFirst()
                    out.append(injected)
                }
            }
            accumulator.discardReadBytes()
            if case .swallow = slots.first {
            } else if accumulator.readableBytes > writtenAhead {
                out.append(accumulator.getSlice(at: accumulator.readerIndex + writtenAhead, length: accumulator.readableBytes - writtenAhead)!)
                writtenAhead = accumulator.readableBytes
            }
        } catch {
            // Unparsable replies: what is waiting goes out, then the rest as it is.
            let skip = max(consumed, ahead)
            out += lose()
            out.append(snapshot.getSlice(at: snapshot.readerIndex + skip, length: snapshot.readableBytes - skip)!)
        }
        return (out, answered)
    }

    /// Ends pairing for good; returns the injected replies still waiting, to be written now.
    mutating func lose() -> [ByteBuffer] {
        isLost = true
        accumulator = ByteBuffer()
        writtenAhead = 0
        var injected: [ByteBuffer] = []
        while let slot = slots.popFirst() {
            switch slot {
            case .injected(let bytes): injected.append(bytes)
            case .server, .swallow: break
            }
        }
        return injected
    }
}
