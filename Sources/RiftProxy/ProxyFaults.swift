import NIOCore
import NIOPosix
import RiftCapture
import RiftCore
import RiftFaults
import Synchronization

/// The proxy's fault set: what the API adds, changes and removes, applied to every live
/// connection before the call returns.
extension Proxy {
    // MARK: - Faults

    /// Adds a fault at the end of its direction's chain; live connections get it at once.
    public func addFault(_ fault: Fault) async throws {
        try validate(fault)
        try state.withLock { (s: inout State) throws in
            if s.faults.contains(where: { $0.fault.name == fault.name }) {
                throw ProxyError.faultExists(proxy: name, fault: fault.name)
            }
            s.faults.append(s.entry(fault))
        }
        await applied()
    }

    /// Replaces the fault with the same name, in place in the chain. What the old stage held
    /// flows on through the new one.
    public func updateFault(_ fault: Fault) async throws {
        try validate(fault)
        try state.withLock { (s: inout State) throws in
            guard let index = s.faults.firstIndex(where: { $0.fault.name == fault.name }) else {
                throw ProxyError.faultNotFound(proxy: name, fault: fault.name)
            }
            if s.faults[index].fault.stream != fault.stream {
                s.faults.remove(at: index)
                s.faults.append(s.entry(fault))
            } else {
                s.faults[index] = s.entry(fault)
            }
        }
        await applied()
    }

    /// Removes a fault; what its stages held is passed on at once.
    public func removeFault(named faultName: String) async throws {
        try state.withLock { (s: inout State) throws in
            guard let index = s.faults.firstIndex(where: { $0.fault.name == faultName }) else {
                throw ProxyError.faultNotFound(proxy: name, fault: faultName)
            }
            s.faults.remove(at: index)
        }
        await applied()
    }

    /// Removes every fault (Toxiproxy's reset does this and enables the proxy).
    public func removeAllFaults() async {
        state.withLock { $0.faults.removeAll() }
        await applied()
    }

    func setPartitionFaults(_ faults: [Fault]) async {
        let changed = state.withLock { (s: inout State) -> Bool in
            let current = s.partitionFaults.map(\.fault)
            if current.count == faults.count && zip(current, faults).allSatisfy({ $0.isSame(as: $1) }) { return false }
            s.partitionFaults = faults.map { f in
                s.partitionFaults.first(where: { $0.fault.isSame(as: f) }) ?? s.entry(f)
            }
            return true
        }
        if changed { await applied() }
    }

    private func validate(_ fault: Fault) throws {
        do { try RiftName.validate(fault.name) } catch { throw ProxyError.invalidName(error.description) }
        guard fault.toxicity >= 0, fault.toxicity <= 1, fault.toxicity.isFinite else {
            throw ProxyError.invalidFault(proxy: name, fault: fault.name, message: "toxicity \(fault.toxicity) is out of range 0...1")
        }
    }

    /// After a change of faults: every connection reconciles on its event loop, then the
    /// listener follows. Reconciling only edits pipelines (it never waits on a socket), so
    /// awaiting it costs one event loop turn, and when a mutation returns every live
    /// connection has the change.
    private func applied() async {
        await handOverRelayed()
        let connections = state.withLock { Array($0.connections.values) }
        let done = connections.map { connection in
            connection.eventLoop.submit { [self] in
                connection.reconcile(state.withLock { $0.allFaults })
            }
        }
        for future in done { try? await future.get() }
        // A listener that cannot open again once `down` is lifted (its port was taken while
        // it was closed) leaves the proxy disabled, and the snapshot says why.
        try? await reconcileListener()
    }
}
