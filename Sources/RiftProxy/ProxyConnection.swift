import NIOCore
import RiftCapture
import RiftCore
import RiftFaults

/// A fault as one proxy holds it: `id` changes on every update, so a connection can tell
/// a stage it already has from one it must (re)build.
struct InstalledFaultEntry: Sendable {
    let id: UInt64
    var fault: Fault
}

/// One proxied connection: the accepted client channel, the dialled server channel, and the
/// fault stages installed on each. Everything mutable is touched on `eventLoop` only.
// @unchecked: every `var` is read and written on `eventLoop` only; callers on other threads hop onto it first.
final class ProxyConnection: @unchecked Sendable {
    let id: UInt64
    let eventLoop: EventLoop
    let client: Channel
    private(set) var server: Channel?
    private let seed: UInt64
    private let proxyName: String
    private let sharedFaultState: ProxyFaultState

    private struct Installed {
        let entryID: UInt64
        let name: String
        let handler: (any ChannelHandler & RemovableChannelHandler)?
    }
    private var installed: [StreamDirection: [Installed]] = [.upstream: [], .downstream: []]
    private var glue: (client: GlueHandler, server: GlueHandler)?
    private var receivedCounters: [StreamDirection: ReceivedCounterHandler] = [:]
    /// Pcap taps at the head of each pipeline; stages go behind them.
    private var captureTaps: [StreamDirection: CaptureTapHandler] = [:]
    private var counters: ByteCounters?
    private var closed = false

    init(id: UInt64, client: Channel, proxyName: String, seed: UInt64, sharedFaultState: ProxyFaultState) {
        self.id = id
        self.sharedFaultState = sharedFaultState
        self.client = client
        self.eventLoop = client.eventLoop
        self.proxyName = proxyName
        self.seed = seed
    }

    /// Called on `eventLoop` once the upstream is connected: glue both sides together and
    /// install the faults the proxy has now, then start reading.
    func attach(server: Channel, counters: ByteCounters, faults: [InstalledFaultEntry], capture: PacketCapture? = nil) throws {
        eventLoop.preconditionInEventLoop()
        self.server = server
        let glue = GlueHandler.matchedPair(counters: counters)
        self.glue = glue
        self.counters = counters
        try client.pipeline.syncOperations.addHandler(glue.client)
        try server.pipeline.syncOperations.addHandler(glue.server)
        if let capture { try addCaptureTaps(capture, server: server) }
        reconcile(faults)
        client.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        server.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
    }

    /// Makes the installed stages match `faults` (the proxy's whole list, both directions,
    /// in chain order). Idempotent; runs on `eventLoop`. A changed fault's new stage goes in
    /// right behind the old one before the old one leaves, so what the old stage held flows
    /// through the new one: nothing is lost or reordered.
    func reconcile(_ faults: [InstalledFaultEntry]) {
        eventLoop.preconditionInEventLoop()
        guard !closed, let server else { return }
        for direction in StreamDirection.allCases {
            let pipeline = direction == .upstream ? client.pipeline : server.pipeline
            let old = installed[direction] ?? []
            let wanted = faults.filter { $0.fault.stream == direction }
            countReceived(direction, atHead: !wanted.isEmpty, pipeline: pipeline)
            var next: [Installed] = []
            var previous: (any ChannelHandler)? = captureTaps[direction] ?? receivedCounters[direction]
            for entry in wanted {
                if let kept = old.first(where: { $0.entryID == entry.id }) {
                    next.append(kept)
                    if let h = kept.handler { previous = h }
                    continue
                }
                let handler = makeStage(entry, direction: direction)
                if let handler {
                    let position: ChannelPipeline.SynchronousOperations.Position
                    if let predecessor = old.first(where: { $0.name == entry.fault.name })?.handler {
                        position = .after(predecessor)
                    } else if let previous {
                        position = .after(previous)
                    } else {
                        position = .first
                    }
                    do {
                        try pipeline.syncOperations.addHandler(handler, position: position)
                        previous = handler
                    } catch {
                        // The channel is closing; nothing to fault any more.
                        return
                    }
                }
                next.append(Installed(entryID: entry.id, name: entry.fault.name, handler: handler))
            }
            for stale in old where !next.contains(where: { $0.entryID == stale.entryID }) {
                if let handler = stale.handler {
                    pipeline.syncOperations.removeHandler(handler).whenFailure { _ in }
                }
            }
            installed[direction] = next
        }
    }

    /// The names of the stages installed, by direction in chain order (a fault whose
    /// toxicity left this connection alone is listed too); nil before the upstream is joined.
    /// On `eventLoop`.
    var installedFaultNames: [StreamDirection: [String]]? {
        eventLoop.preconditionInEventLoop()
        guard server != nil, !closed else { return nil }
        return installed.mapValues { $0.map(\.name) }
    }

    /// Each leg's tap goes first, so it sees what the socket read before any stage and what
    /// was written after every stage: each end's view.
    private func addCaptureTaps(_ capture: PacketCapture, server: Channel) throws {
        let clientTap = CaptureTapHandler(
            capture: capture, local: client.localAddress, remote: client.remoteAddress, localOpens: false, connectionID: id)
        let serverTap = CaptureTapHandler(
            capture: capture, local: server.localAddress, remote: server.remoteAddress, localOpens: true, connectionID: id)
        try client.pipeline.syncOperations.addHandler(clientTap, position: .first)
        try server.pipeline.syncOperations.addHandler(serverTap, position: .first)
        captureTaps = [.upstream: clientTap, .downstream: serverTap]
    }

    /// While a direction has faults, a counter at the head of its pipeline counts what the
    /// socket delivered (stages may drop or hold bytes); without faults the glue counts it.
    private func countReceived(_ direction: StreamDirection, atHead: Bool, pipeline: ChannelPipeline) {
        guard let glue, let counters else { return }
        let glueHandler = direction == .upstream ? glue.client : glue.server
        if atHead, receivedCounters[direction] == nil {
            let counter = ReceivedCounterHandler(counters: counters, direction: direction)
            guard (try? pipeline.syncOperations.addHandler(counter, position: .first)) != nil else { return }
            receivedCounters[direction] = counter
            glueHandler.countsReceived = false
        } else if !atHead, let counter = receivedCounters[direction] {
            receivedCounters[direction] = nil
            glueHandler.countsReceived = true
            pipeline.syncOperations.removeHandler(counter).whenFailure { _ in }
        }
    }

    /// Builds the stage for a fault, or nil when the fault's toxicity leaves this connection
    /// alone (decided once per connection, direction and fault, from the run seed).
    private func makeStage(_ entry: InstalledFaultEntry, direction: StreamDirection) -> (any ChannelHandler & RemovableChannelHandler)? {
        var random = SeededRandom(seed: seed, labels: proxyName, String(id), entry.fault.name, direction.rawValue)
        if entry.fault.toxicity < 1, random.nextUnit() >= entry.fault.toxicity { return nil }
        let env = FaultStageEnvironment(random: random, direction: direction, connectionID: id, faultName: entry.fault.name, shared: sharedFaultState)
        return entry.fault.config.makeHandler(env)
    }

    /// Closes both sides now (disable, shutdown).
    func close() {
        closed = true
        client.close(promise: nil)
        server?.close(promise: nil)
    }
}
