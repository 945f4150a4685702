import RiftCore

/// Now on the monotonic clock every deadline of the harness's clients is measured on.
func monotonicNs() -> Int64 { RiftClock.monotonicNanoseconds() }
