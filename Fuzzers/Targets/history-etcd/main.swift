// `rift check`'s reader of Porcupine's Jepsen etcd logs (`INFO jepsen.util - ...`), reached
// through format detection as `rift check` does by default.
import Foundation
import FuzzSupport
import RiftHistory

fuzz { raw in
    _ = try? HistoryReader.parse(Data(raw), format: .porcupineEtcd)
    _ = try? HistoryReader.parse(Data(raw), format: .auto)
}
