// Memcached text and meta requests and replies (RiftWire's MemcachedParser).
import FuzzSupport
import RiftWire

fuzzWireParser(MemcachedParser.self) { $0.bytes }
