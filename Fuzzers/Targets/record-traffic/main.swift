// `rift record` end to end without libpcap: frames (split at "\xFF\xFE") go through the packet
// decoder, the TCP reassembler and the connection recorders (RESP or memcached pairing). The
// first byte picks the protocol, link type and out-of-order limit.
import FuzzSupport
import RiftHistory
import RiftRecord

let links: [LinkType] = [.raw, .ethernet, .linuxSLL, .null]

fuzz { raw in
    var input = FuzzInput(raw)
    let choice = input.byte()
    let proto: RecordProtocol = choice & 1 == 0 ? .resp : .memcached
    let link = links[Int(choice >> 1) % links.count]
    // Small enough for the fuzzer to overflow, as a capture that misses a segment would.
    let maxPending = choice & 0x80 == 0 ? 4096 : 64
    var events: [HistoryEvent] = []
    let recorder = TrafficRecorder(options: .init(port: 6379, protocol: proto, maxPendingBytes: maxPending)) { events.append($0) }
    var time: Int64 = 0
    for frame in input.split(rest: [0xFF, 0xFE]) {
        time += 1000
        try? recorder.frame(frame, link: link, timeNs: time)
    }
    let summary = try? recorder.finish()
    precondition(summary?.events == events.count, "the summary counts every event it emitted")
}
