import RiftCore
