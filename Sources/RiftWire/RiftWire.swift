@_exported import RiftCore
