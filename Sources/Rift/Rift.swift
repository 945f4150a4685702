// The library users' tests import: one `import Rift` brings the proxy, faults, histories and checks.
@_exported import RiftCore
@_exported import RiftWire
@_exported import RiftFaults
@_exported import RiftProxy
@_exported import RiftHistory
@_exported import RiftChecker
@_exported import RiftReport
@_exported import RiftHarness
