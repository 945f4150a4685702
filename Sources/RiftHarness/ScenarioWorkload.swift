import RiftHistory

/// What the runner needs of a workload: start it, stop it, read its progress, and learn whether
/// its history could not be written.
protocol ScenarioWorkload: AnyObject, Sendable {
    func start(untilNs: Int64)
    func stop()
    var currentStats: RegisterWorkload.Stats { get }
    var historyFailure: HistoryWriter.Failure? { get }
}

extension RegisterWorkload: ScenarioWorkload {}
extension CacheAsideWorkload: ScenarioWorkload {}
