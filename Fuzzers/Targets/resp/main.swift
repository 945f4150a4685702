// RESP2/RESP3 requests and replies (RiftWire's RESPParser), as the proxy's frame faults and
// `rift record` read them from the wire.
import FuzzSupport
import RiftWire

fuzzWireParser(RESPParser.self) { $0.bytes }
