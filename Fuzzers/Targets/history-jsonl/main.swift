// `rift check`'s JSON Lines reader (Rift's own histories, history.jsonl of `rift run`).
import Foundation
import FuzzSupport
import RiftHistory

fuzz { raw in
    _ = try? HistoryReader.parse(Data(raw), format: .jsonl)
}
