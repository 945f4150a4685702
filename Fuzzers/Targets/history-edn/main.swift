// `rift check`'s EDN reader: Jepsen/Knossos histories and Porcupine's kv histories.
import Foundation
import FuzzSupport
import RiftHistory

fuzz { raw in
    _ = try? HistoryReader.parse(Data(raw), format: .edn)
}
