import Foundation
import RiftCore
import RiftHistory

/// `rift record`'s loop: frames from a source into a recorder into a history file, until the
/// file ends, `durationNs` passes, `maxPackets` were read, or `shouldStop` says so.
public enum RecordRun {
    public struct Limits: Sendable {
        public var durationNs: Int64?
        public var maxPackets: Int?
        public init(durationNs: Int64? = nil, maxPackets: Int? = nil) {
            self.durationNs = durationNs
            self.maxPackets = maxPackets
        }
    }

    public static func run(
        source: PcapSource, options: TrafficRecorder.Options, output: HistoryWriter, limits: Limits = Limits(),
        shouldStop: () -> Bool = { false }
    ) throws -> TrafficRecorder.Summary {
        let recorder = TrafficRecorder(options: options) { event in try output.append(event) }
        let deadline = limits.durationNs.map { RiftClock.monotonicNanoseconds() + $0 }
        loop: while !shouldStop() {
            if let deadline, RiftClock.monotonicNanoseconds() >= deadline { break }
            if let max = limits.maxPackets, recorder.summary.packets >= max { break }
            switch try source.next() {
            case .frame(let bytes, let timeNs): try recorder.frame(bytes, link: source.link, timeNs: timeNs)
            case .idle: continue
            case .end: break loop
            }
        }
        let summary = try recorder.finish()
        try output.close()
        return summary
    }
}
