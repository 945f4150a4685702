import Foundation
import RiftChecker
import RiftHistory
import Testing

/// The harness's readiness as a run shows it: no read invoked before the first nemesis event
/// (the first fault) is stale by more than 50 ms, by the checker's own staleness measure. A run
/// with no timeline is judged whole. Fails when there is no such read (nothing to judge).
func expectFreshBeforeFirstFault(_ runFolder: String, boundNs: Int64 = 50_000_000, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let history = try HistoryReader.read(path: runFolder + "/history.jsonl")
    let firstFault = history.nemesisEvents.map(\.time).min() ?? .max
    let paired = try history.paired()
    let reads = StalenessChecker.measure(paired, window: TimeWindow(until: firstFault))
    #expect(!reads.isEmpty, "no read before the first fault in \(runFolder)", sourceLocation: sourceLocation)
    guard let worst = reads.max(by: { $0.staleForNs < $1.staleForNs }) else { return }
    let op = paired.operations[worst.operation]
    #expect(worst.staleForNs <= boundNs,
            "before the first fault a read was stale for \(Double(worst.staleForNs) / 1e6) ms (> \(Double(boundNs) / 1e6) ms): key \(op.key) on \(op.node ?? "-") by process \(op.process), invoked at \(op.invokeTime), first fault at \(firstFault) (\(runFolder))",
            sourceLocation: sourceLocation)
}
