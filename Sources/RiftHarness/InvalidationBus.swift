import Foundation
import Glibc
import RiftClient
import RiftCore
import RiftProxy
import Synchronization

/// The bus of `invalidation: {mode: bus}`: a redis-server of its own (the `bus` node, in the
/// fleet's folder `bus/`) and the origin's publisher. The origin's changes reach it through
/// the proxy `origin-bus`, the invalidators subscribe through `invalidator-bus`, so a timeline
/// can delay, blackhole or drop (`drop_frame` on `message`) what a CDC pipeline would carry.
public final class InvalidationBus: Sendable {
    public static let node = "bus"
    /// The origin's link to the bus (PUBLISH).
    public static let publishProxy = "origin-bus"
    /// The invalidators' link to the bus (SUBSCRIBE, then `message` pushes downstream).
    public static let subscribeProxy = "invalidator-bus"
    public static var proxyNames: [String] { [publishProxy, subscribeProxy] }

    private let process: ChildProcess
    public let publisher: BusPublisher
    /// The port invalidators connect to (the `invalidator-bus` proxy).
    public let subscribePort: UInt16

    private init(process: ChildProcess, publisher: BusPublisher, subscribePort: UInt16) {
        self.process = process
        self.publisher = publisher
        self.subscribePort = subscribePort
    }

    /// Starts redis-server on a free loopback port in `directory`, waits until it answers, and
    /// puts both proxies on `proxies`; the publisher sends through `origin-bus`. On failure the
    /// server is stopped.
    public static func start(directory: String, proxies: ProxyServer, families: Int, family: @escaping @Sendable (String) -> Int) async throws -> InvalidationBus {
        let candidates: [String] = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        guard let exe = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw FleetError("the invalidation bus needs redis-server (in /usr/bin or /usr/local/bin)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A port free a moment ago can be taken before redis binds it: then try another.
        var lastFailure = ""
        for _ in 0..<3 {
            let port = FreePort.allocate()
            let process = ChildProcess(executable: exe, arguments: RedisServers.arguments(port: port, directory: directory), directory: directory)
            try process.launch()
            if let why = waitUntilAnswering(process, port: port, deadlineNs: monotonicNs() + 10_000_000_000) {
                process.stop()
                lastFailure = why
                continue
            }
            do {
                let publish = try await proxies.createProxy(ProxyConfig(
                    name: publishProxy, listen: "127.0.0.1:0", upstream: "127.0.0.1:\(port)", from: CacheAsideWorkload.originNode, to: node))
                let subscribe = try await proxies.createProxy(ProxyConfig(
                    name: subscribeProxy, listen: "127.0.0.1:0", upstream: "127.0.0.1:\(port)", from: "invalidator", to: node))
                let publisher = BusPublisher(port: UInt16(publish.port), families: families, family: family)
                return InvalidationBus(process: process, publisher: publisher, subscribePort: UInt16(subscribe.port))
            } catch {
                process.stop()
                throw error
            }
        }
        throw FleetError("the bus node did not start: \(lastFailure); see \(directory)/redis.log")
    }

    /// nil once redis answers PING on `port`; why not otherwise.
    private static func waitUntilAnswering(_ process: ChildProcess, port: UInt16, deadlineNs: Int64) -> String? {
        let client = RESPClient(reconnectingTo: port)
        defer { client.close() }
        while monotonicNs() < deadlineNs {
            if !process.isRunning { return "redis-server exited during startup" }
            if (try? client.request(["PING"], deadlineNs: monotonicNs() + 200_000_000)) == .simpleString("PONG") { return nil }
            usleep(20_000)
        }
        return "redis-server did not answer in time"
    }

    /// Stops the publisher, then the server. Idempotent.
    public func stop() {
        publisher.stop()
        process.stop()
    }
}

/// The origin's side of the bus: every change the origin takes is queued with its family's next
/// sequence number and the time, and one thread PUBLISHes the queue in order; when the queue is
/// empty it sends each channel a heartbeat every `heartbeatNs`. A change that cannot be sent
/// (the link times out or breaks) is lost, as a CDC pipeline loses it: its sequence number is
/// spent, so invalidators see the gap. `@unchecked`: the queue is touched only under `condition`.
public final class BusPublisher: @unchecked Sendable {
    public static let heartbeatNs: Int64 = 100_000_000
    /// Most changes waiting; beyond it a change is dropped (its number spent) and counted.
    public static let maxQueued = 100_000
    /// How long one PUBLISH may take before the change counts as lost.
    static let publishTimeoutNs: Int64 = 1_000_000_000

    public struct Counts: Sendable, Equatable {
        public var published = 0
        /// Changes not sent: the link failed or the queue was full.
        public var lost = 0
    }

    private let condition = NSCondition()
    private var queue: [(family: Int, message: BusMessage)] = []
    private var nextSeq: [Int64]
    private var stopping = false
    private var counts = Counts()
    private let family: @Sendable (String) -> Int
    private let port: UInt16
    private let finished = DispatchGroup()

    init(port: UInt16, families: Int, family: @escaping @Sendable (String) -> Int) {
        self.port = port
        self.family = family
        nextSeq = Array(repeating: 1, count: families)
        finished.enter()
        let t = Thread { [self] in
            self.run()
            self.finished.leave()
        }
        t.name = "rift-bus-publisher"
        t.start()
    }

    public var currentCounts: Counts {
        condition.lock()
        defer { condition.unlock() }
        return counts
    }

    /// The origin took `key` at `version` (called in the origin's store lock, so a key's
    /// changes are queued in version order).
    public func changed(_ key: String, version: Int64) {
        let f = family(key)
        condition.lock()
        defer { condition.unlock() }
        let seq = nextSeq[f]
        nextSeq[f] += 1
        guard queue.count < Self.maxQueued else {
            counts.lost += 1
            return
        }
        queue.append((f, .change(seq: seq, originNs: monotonicNs(), key: key, version: version)))
        condition.signal()
    }

    /// Sends what is queued until `stop()`.
    private func run() {
        let client = RESPClient(reconnectingTo: port)
        defer { client.close() }
        var nextHeartbeat = monotonicNs() + Self.heartbeatNs
        while true {
            condition.lock()
            while queue.isEmpty && !stopping && monotonicNs() < nextHeartbeat {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(nextHeartbeat - monotonicNs()) / 1e9))
            }
            if stopping {
                condition.unlock()
                return
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            // Every channel hears from the origin at least every heartbeat, busy or not. A
            // heartbeat names the last number handed out: every change before it is in `batch`
            // or was sent already, so it follows them on its channel.
            var heartbeats: [(family: Int, message: BusMessage)] = []
            if monotonicNs() >= nextHeartbeat {
                heartbeats = nextSeq.indices.map { ($0, .heartbeat(seq: nextSeq[$0] - 1, originNs: monotonicNs())) }
                nextHeartbeat = monotonicNs() + Self.heartbeatNs
            }
            condition.unlock()
            var sent = 0, lost = 0
            for (f, message) in batch + heartbeats {
                // A blackholed link takes a timeout per message: do not make stop() wait them all.
                let ok = !isStopping && (try? client.request(["PUBLISH", BusMessage.channel(family: f), message.text],
                                                             deadlineNs: monotonicNs() + Self.publishTimeoutNs))?.isInteger == true
                if case .change = message { if ok { sent += 1 } else { lost += 1 } }
            }
            condition.lock()
            counts.published += sent
            counts.lost += lost
            condition.unlock()
        }
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Stops the thread (what is still queued is not sent) and waits for it. Idempotent.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }
}

extension RESPValue {
    fileprivate var isInteger: Bool {
        if case .integer = self { return true }
        return false
    }
}
