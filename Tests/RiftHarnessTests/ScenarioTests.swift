import Testing
@testable import RiftHarness
