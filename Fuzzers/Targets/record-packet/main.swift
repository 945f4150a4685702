// `rift record`'s packet decoder: the first byte picks the link type, the rest is the frame.
import FuzzSupport
import RiftRecord

let links: [LinkType] = [.null, .ethernet, .raw, .loop, .linuxSLL, .linuxSLL2]

fuzz { raw in
    var input = FuzzInput(raw)
    let link = links[Int(input.byte()) % links.count]
    let frame = input.rest
    guard let segment = PacketDecoder.decode(frame, link: link) else { return }
    // The payload is a slice of the frame itself.
    precondition(segment.payload.startIndex >= 0 && segment.payload.endIndex <= frame.count)
}
