import Foundation
import Hummingbird
import RiftCore
import RiftFaults
import RiftTestSupport
import Testing
@testable import RiftControl
@testable import RiftProxy

/// A seeded random walk over the API (proxies, listen and upstream changes, enable and
/// disable, toxics, partitions, populate, reset; valid and invalid bodies, listen addresses
/// that cannot bind), holding the API to reality after every call:
/// - every proxy reported enabled (and not refusing on purpose: `down`, a `refuse`
///   partition) accepts on the address it reports and relays a line to the upstream it
///   reports (each upstream tags its echo), at least as late as its latency toxics say;
/// - every proxy reported disabled refuses;
/// - every live connection carries exactly the reported toxics (and the partitions' stages),
///   in chain order, and none rides the relay while the proxy has one;
/// - a connection kept open across calls keeps working (with its own upstream) while its
///   proxy stays enabled, and is closed when it is disabled, removed or replaced;
/// - a call that fails leaves the listing exactly as it was (unless the error says which
///   proxy it had to disable), and a failed populate changes only the entries it lists.
///
/// `RIFT_WALK_SEED=N` replays a run; the seed is printed with every failure.
@Suite(.serialized) struct APIStateWalkTests {
    static let steps = 200

    @Test(arguments: [true, false])
    func reportedStateIsRealityAfterEveryCall(relay: Bool) async throws {
        let seed = ProcessInfo.processInfo.environment["RIFT_WALK_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(1) << 40)
        let upstreams = try (1...3).map { try TaggedEchoServer(tag: "u\($0)") }
        let blocker = try BlockingListener()  // a port some other program holds
        defer {
            for upstream in upstreams { upstream.stop() }
            blocker.close()
        }
        try await APIHarness.run(relay: relay, threads: 2) { (api: APIHarness) async throws in
            var walk = APIWalk(api: api, seed: seed, relay: relay, upstreams: upstreams, blockerPort: blocker.port)
            for step in 1...Self.steps {
                try await walk.step(step)
                if walk.failed { break }
            }
            await walk.closeKept()
            let c = walk.counts
            print("API walk, seed \(seed), relay \(relay): \(c.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")); relayed lines \(c.relayedLines) (kept \(c.keptLines)), refusals \(c.refusals), live chains \(c.chains)")
            // A walk that never reached the cases it is for would prove nothing.
            if !walk.failed {
                #expect(c.statuses[500, default: 0] > 0 && c.statuses[400, default: 0] > 0 && c.relayedLines > 20 && c.keptLines > 5 && c.refusals > 0 && c.chains > 20, "seed \(seed)")
            }
        }
    }
}

/// Every choice of the walk comes from the seed.
struct WalkRandom {
    var generator: SeededRandom
    init(seed: UInt64) { generator = SeededRandom(seed: seed) }
    mutating func below(_ n: Int) -> Int { Int(generator.next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { generator.nextUnit() < p }
    mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
}

struct APIWalk {
    let api: APIHarness
    let seed: UInt64
    let relay: Bool
    let upstreams: [TaggedEchoServer]
    let blockerPort: UInt16
    var random: WalkRandom
    var failed = false
    /// One connection per proxy kept open across calls: its proxy object, upstream tag and socket.
    var kept: [String: (proxy: ObjectIdentifier, tag: String, socket: BlockingSocket)] = [:]
    var lineNumber = 0
    var history: [String] = []
    /// What the walk exercised: answers by status, and the checks made against reality.
    var counts = (statuses: [Int: Int](), relayedLines: 0, keptLines: 0, refusals: 0, chains: 0)

    static let names = ["a", "b", "c", "d"]
    static let toxicNames = ["t1", "t2", "t3"]
    static let nodes = ["client", "n1", "n2", "n3"]

    init(api: APIHarness, seed: UInt64, relay: Bool, upstreams: [TaggedEchoServer], blockerPort: UInt16) {
        self.api = api
        self.seed = seed
        self.relay = relay
        self.upstreams = upstreams
        self.blockerPort = blockerPort
        self.random = WalkRandom(seed: seed)
    }

    // MARK: - One step

    mutating func step(_ step: Int) async throws {
        let before = try await listing()
        let (method, uri, body) = nextCall(before)
        let reply = try await api.call(method, uri, body)
        history.append("\(step): \(method) \(uri) \(body ?? "") -> \(reply.status.code) \(reply.error ?? "")")
        counts.statuses[reply.status.code, default: 0] += 1
        let after = try await listing()
        if !(200..<300).contains(reply.status.code) {
            checkFailedCallChangedNothing(uri: uri, reply: reply, before: before, after: after)
        }
        if reply.status.code >= 500, !reply.text.contains("cannot listen"), !reply.text.contains("disabled") {
            fail("an unexpected server error")
        }
        try await checkReality(after)
    }

    mutating func fail(_ what: String, _ sourceLocation: SourceLocation = #_sourceLocation) {
        failed = true
        let recent = history.suffix(8).joined(separator: "\n  ")
        Issue.record("\(what)\n(seed \(seed), relay \(relay); replay with RIFT_WALK_SEED=\(seed))\nlast calls:\n  \(recent)", sourceLocation: sourceLocation)
    }

    // MARK: - Choosing a call

    mutating func nextCall(_ current: [String: JSONValue]) -> (HTTPRequest.Method, String, String?) {
        // Mostly calls on proxies and toxics that exist, sometimes on ones that do not.
        let existing = current.keys.sorted()
        let name = !existing.isEmpty && random.chance(0.8) ? random.pick(existing) : random.pick(Self.names)
        let toxics = (current[name]?["toxics"]?.array ?? []).compactMap { $0["name"]?.string }
        let toxic = !toxics.isEmpty && random.chance(0.7) ? random.pick(toxics) : random.pick(Self.toxicNames)
        switch random.below(20) {
        case 0, 1, 2:
            var fields = [#""name":"\#(name)""#, #""upstream":"\#(upstreamChoice())""#, #""listen":"\#(listenChoice(current))""#]
            if random.chance(0.2) { fields.append(#""enabled":false"#) }
            if random.chance(0.6) { fields.append(#""from":"\#(random.pick(Self.nodes))","to":"\#(random.pick(Self.nodes))""#) }
            return (.post, "/proxies", "{" + fields.joined(separator: ",") + "}")
        case 3, 4, 5, 6:
            var fields: [String] = []
            if random.chance(0.5) { fields.append(#""listen":"\#(listenChoice(current))""#) }
            if random.chance(0.3) { fields.append(#""upstream":"\#(upstreamChoice())""#) }
            if random.chance(0.5) { fields.append(#""enabled":\#(random.chance(0.6))"#) }
            if random.chance(0.05) { fields.append(#""enabled":"yes""#) }
            return (random.chance(0.5) ? .post : .patch, "/proxies/\(name)", "{" + fields.joined(separator: ",") + "}")
        case 7:
            return (.delete, "/proxies/\(name)", nil)
        case 8, 9, 10:
            return (.post, "/proxies/\(name)/toxics", toxicBody(name: toxic))
        case 11, 12:
            let body: String
            switch random.below(4) {
            case 0: body = #"{"attributes":{"latency":\#(5 + random.below(20)),"jitter":0}}"#
            case 1: body = #"{"stream":"\#(random.pick(["upstream", "downstream", "sideways"]))"}"#
            case 2: body = #"{"toxicity":\#(random.pick(["1", "0.5", "2"]))}"#
            default: body = #"{"type":"bandwidth"}"#
            }
            return (.post, "/proxies/\(name)/toxics/\(toxic)", body)
        case 13, 14:
            return (.delete, "/proxies/\(name)/toxics/\(toxic)", nil)
        case 15:
            var nodes = Self.nodes
            var groups: [[String]] = []
            for _ in 0..<(1 + random.below(2)) where !nodes.isEmpty {
                let count = 1 + random.below(min(2, nodes.count))
                groups.append(Array(nodes.prefix(count)))
                nodes.removeFirst(count)
            }
            let text = groups.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" }.joined(separator: ",")
            let mode = random.pick(["blackhole", "reset", "refuse", "refuse", "sideways"])
            if random.chance(0.05) { return (.post, "/rift/partitions", #"{"groups":[[]]}"#) }
            return (.post, "/rift/partitions", #"{"groups":[\#(text)],"mode":"\#(mode)","one_way":\#(random.chance(0.3))}"#)
        case 16:
            return (.delete, random.chance(0.5) ? "/rift/partitions" : "/rift/partitions/p\(1 + random.below(4))", nil)
        case 17, 18:
            var entries: [String] = []
            var used: Set<String> = []
            for _ in 0..<(1 + random.below(3)) {
                let entryName = random.chance(0.1) && !used.isEmpty ? used.first! : random.pick(Self.names)
                used.insert(entryName)
                var fields = [#""name":"\#(entryName)""#, #""listen":"\#(listenChoice(current))""#]
                if !random.chance(0.05) { fields.append(#""upstream":"\#(upstreamChoice())""#) }
                if random.chance(0.15) { fields.append(#""enabled":false"#) }
                entries.append("{" + fields.joined(separator: ",") + "}")
            }
            return (.post, "/populate", "[" + entries.joined(separator: ",") + "]")
        default:
            return (.post, "/reset", nil)
        }
    }

    mutating func upstreamChoice() -> String {
        if random.chance(0.05) { return "nowhere" }
        return "127.0.0.1:\(random.pick(upstreams).port)"
    }

    /// Mostly a free port; otherwise an address that cannot be bound (held by another proxy,
    /// by some other program, by an upstream, or not this machine's), or one that is not an
    /// address at all.
    mutating func listenChoice(_ current: [String: JSONValue]) -> String {
        let others = current.values.compactMap { $0["listen"]?.string }
        switch random.below(12) {
        case 0: return "127.0.0.1:\(blockerPort)"
        case 1: return "127.0.0.1:\(random.pick(upstreams).port)"
        case 2: return "1.2.3.4:5"
        case 3: return others.isEmpty ? "localhost:0" : random.pick(others)
        case 4: return random.chance(0.5) ? "nonsense" : "127.0.0.1:99999"
        case 5: return "localhost:0"
        default: return "127.0.0.1:0"
        }
    }

    mutating func toxicBody(name: String) -> String {
        let stream = random.pick(["upstream", "downstream"])
        let toxicity = random.chance(0.15) ? "0.5" : "1"
        switch random.below(7) {
        case 0, 1, 2:
            return #"{"name":"\#(name)","type":"latency","stream":"\#(stream)","toxicity":\#(toxicity),"attributes":{"latency":\#(5 + random.below(20)),"jitter":0}}"#
        case 3: return #"{"name":"\#(name)","type":"down","stream":"\#(stream)"}"#
        case 4: return #"{"name":"\#(name)","type":"slicer","stream":"\#(stream)","attributes":{"average_size":3,"size_variation":1,"delay":10}}"#
        case 5: return #"{"name":"\#(name)","type":"bandwidth","stream":"\#(stream)","attributes":{"rate":10000}}"#
        default:
            return random.pick([
                #"{"name":"\#(name)","type":"nosuch"}"#, #"{"name":"\#(name)","type":"latency","stream":"sideways"}"#,
                #"{"name":"\#(name)","type":"latency","toxicity":2}"#, #"{"name":"\#(name)","type":"latency","attributes":{"latency":"x"}}"#,
            ])
        }
    }

    // MARK: - Checking

    func listing() async throws -> [String: JSONValue] {
        let reply = try await api.call(.get, "/proxies")
        return reply.json?.objectValue ?? [:]
    }

    /// A call that failed changed nothing, except what its error names: a failed populate
    /// applied the entries it lists; a proxy the error says was disabled.
    mutating func checkFailedCallChangedNothing(uri: String, reply: APIHarness.Reply, before: [String: JSONValue], after: [String: JSONValue]) {
        if uri == "/reset" { return }  // resets every proxy it can, and names the ones it could not
        var touched: Set<String> = []
        if uri == "/populate" {
            for entry in reply.json?["proxies"]?.array ?? [] { if let name = entry["name"]?.string { touched.insert(name) } }
        }
        if reply.text.contains("disabled"), let name = uri.split(separator: "/").dropFirst().first.map(String.init) {
            touched.insert(name)
        }
        for name in Set(before.keys).union(after.keys) where !touched.contains(name) {
            if before[name] != after[name] {
                fail("a failed call (\(reply.status.code) \(reply.error ?? "")) changed proxy \(name): \(String(describing: before[name])) -> \(String(describing: after[name]))")
                return
            }
        }
    }

    mutating func checkReality(_ proxies: [String: JSONValue]) async throws {
        let partitions = (try await api.call(.get, "/rift/partitions")).json?.array ?? []
        let cuts: [Partition] = partitions.compactMap { p in
            guard let id = p["id"]?.string, let mode = p["mode"]?.string.flatMap(PartitionMode.init(rawValue:)) else { return nil }
            let groups = (p["groups"]?.array ?? []).map { ($0.array ?? []).compactMap(\.string) }
            return Partition(id: id, groups: groups, mode: mode, oneWay: p["one_way"]?.bool ?? false)
        }
        let serverNames = Set(api.plane.server.proxies.map(\.name))
        if serverNames != Set(proxies.keys) {
            fail("the API lists \(proxies.keys.sorted()) but the server has \(serverNames.sorted())")
            return
        }
        // Ports something else listens on (another program, an upstream, a proxy that is
        // reported listening): a refusal cannot be checked there.
        var held: [Int: Int] = [Int(blockerPort): 1]
        for upstream in upstreams { held[Int(upstream.port), default: 0] += 1 }
        for (_, p) in proxies where p["enabled"]?.bool == true && !Self.refusesOnPurpose(p, cuts: cuts) {
            if let port = p["listen"]?.string.flatMap(Self.port) { held[port, default: 0] += 1 }
        }
        for name in proxies.keys.sorted() {
            guard let p = proxies[name], let proxy = api.plane.server.proxy(named: name) else { continue }
            let enabled = p["enabled"]?.bool ?? false
            let listen = p["listen"]?.string ?? ""
            let toxics = p["toxics"]?.array ?? []
            let partitionFaults = Self.faults(of: p, cuts: cuts)
            let refusesOnPurpose = Self.refusesOnPurpose(p, cuts: cuts)
            let cut = !partitionFaults.isEmpty
            let snapshot = proxy.snapshot
            if snapshot.config.enabled != enabled || snapshot.listen != listen {
                fail("proxy \(name): the API says enabled \(enabled) at \(listen), the proxy \(snapshot.config.enabled) at \(snapshot.listen)")
                return
            }
            if enabled && !refusesOnPurpose {
                guard listen.hasPrefix("127.0.0.1:"), let port = Self.port(listen), port != 0, snapshot.listening else {
                    fail("proxy \(name) is reported enabled at \(listen) but does not listen there (listening: \(snapshot.listening))")
                    return
                }
                let tag = tagOf(p["upstream"]?.string)
                if cut {
                    if case .connectionRefused? = socketError({ _ = try BlockingSocket(port: UInt16(port)) }) {
                        fail("proxy \(name) is reported enabled at \(listen) (cut by a partition that does not refuse) but refuses")
                        return
                    }
                } else {
                    do {
                        let socket = try BlockingSocket(port: UInt16(port))
                        try roundTrip(socket, expectTag: tag, latencyMs: latencyMs(toxics), what: "a new connection to \(name) at \(listen)")
                        if failed { return }
                        counts.relayedLines += 1
                        if kept[name] == nil, let tag { kept[name] = (ObjectIdentifier(proxy), tag, socket) }
                    } catch {
                        fail("proxy \(name) is reported enabled at \(listen) with upstream \(p["upstream"]?.string ?? "?"), but a new connection failed: \(error)")
                        return
                    }
                }
            } else {
                if snapshot.listening {
                    fail("proxy \(name) is reported \(enabled ? "refusing (down)" : "disabled") but its listener is open")
                    return
                }
                if listen.hasPrefix("127.0.0.1:"), let port = Self.port(listen), port != 0, held[port] == nil {
                    checkRefuses(port: port, name: name)
                    if failed { return }
                    counts.refusals += 1
                }
            }
            try await checkLiveChains(proxy, name: name, toxics: toxics, partitionFaults: partitionFaults)
            if failed { return }
        }
        try await checkKept(proxies, cuts: cuts)
    }

    /// Nothing of ours may answer on a port a disabled proxy reports. (Another program may
    /// have taken that port since it was free: that one does not echo with our tags.)
    mutating func checkRefuses(port: Int, name: String) {
        guard let socket = try? BlockingSocket(port: UInt16(port), readTimeout: .milliseconds(300)) else { return }
        lineNumber += 1
        try? socket.send("probe \(lineNumber)\n")
        if let reply = try? socket.receive(), let text = String(bytes: reply, encoding: .utf8),
           upstreams.contains(where: { text.hasPrefix($0.tag + " ") }) {
            fail("proxy \(name) is reported disabled (or down) but 127.0.0.1:\(port) relays to our upstream: \(text)")
        }
    }

    /// The stages every live connection of the proxy carries are the reported toxics, then
    /// the partitions' stages, per direction in chain order.
    mutating func checkLiveChains(_ proxy: Proxy, name: String, toxics: [JSONValue], partitionFaults: [Fault]) async throws {
        var expected: [StreamDirection: [String]] = [:]
        for direction in StreamDirection.allCases {
            expected[direction] = toxics.filter { $0["stream"]?.string == direction.rawValue }.compactMap { $0["name"]?.string }
                + partitionFaults.filter { $0.stream == direction }.map(\.name)
        }
        let (chains, relayed) = await proxy.liveFaultChains()
        counts.chains += chains.count
        for chain in chains where chain != expected {
            fail("proxy \(name): a live connection carries \(chain) but the API reports \(expected)")
            return
        }
        if relayed > 0 && expected.values.contains(where: { !$0.isEmpty }) {
            fail("proxy \(name): \(relayed) connection(s) still on the relay (no stage) while it has faults \(expected)")
        }
    }

    /// A kept connection works while its proxy stays enabled and uncut; it is closed when its
    /// proxy is disabled, removed or replaced.
    mutating func checkKept(_ proxies: [String: JSONValue], cuts: [Partition]) async throws {
        for name in kept.keys.sorted() {
            guard let entry = kept[name] else { continue }
            let p = proxies[name]
            let proxy = api.plane.server.proxy(named: name)
            let alive = p?["enabled"]?.bool == true && proxy.map { ObjectIdentifier($0) } == entry.proxy
            let partitionFaults = p.map { Self.faults(of: $0, cuts: cuts) } ?? []
            if !alive {
                kept[name] = nil
                entry.socket.readTimeout = .seconds(5)
                do {
                    _ = try entry.socket.receiveUntilClosed()
                } catch .connectionReset {
                } catch {
                    fail("proxy \(name) was disabled, removed or replaced, but a connection made before stays open (\(error))")
                    return
                }
                continue
            }
            if !partitionFaults.isEmpty {
                // Held (blackhole) or reset: not a place to send a probe; start afresh after.
                kept[name] = nil
                continue
            }
            do {
                try roundTrip(entry.socket, expectTag: entry.tag, latencyMs: latencyMs(p?["toxics"]?.array ?? []), what: "the kept connection to \(name)")
                counts.keptLines += 1
            } catch {
                fail("proxy \(name) is enabled, but a connection made before stopped relaying: \(error)")
                return
            }
        }
    }

    mutating func closeKept() async {
        for (_, entry) in kept { entry.socket.close() }
        kept = [:]
    }

    /// One line there and back: the reply must come from the expected upstream, and no sooner
    /// than the latency toxics allow.
    mutating func roundTrip(_ socket: BlockingSocket, expectTag tag: String?, latencyMs: Int, what: String) throws {
        lineNumber += 1
        let line = "line \(lineNumber)\n"
        let start = ContinuousClock.now
        try socket.send(line)
        var received: [UInt8] = []
        while !received.contains(UInt8(ascii: "\n")) { received += try socket.receive() }
        let elapsed = ContinuousClock.now - start
        let text = String(decoding: received, as: UTF8.self)
        if let tag, text != "\(tag) \(line)" {
            fail("\(what): sent \(line.debugDescription), got \(text.debugDescription) (expected it from upstream \(tag))")
        } else if elapsed < .milliseconds(latencyMs) {
            fail("\(what): the reply came after \(elapsed), before the reported latency toxics' \(latencyMs) ms")
        }
    }

    /// The least delay the reported latency toxics put on a round trip (those that surely
    /// apply: toxicity 1).
    func latencyMs(_ toxics: [JSONValue]) -> Int {
        toxics.filter { $0["type"]?.string == "latency" && $0["toxicity"]?.number == 1 }
            .compactMap { $0["attributes"]?["latency"]?.number }.map { Int($0) }.reduce(0, +)
    }

    func tagOf(_ upstream: String?) -> String? {
        upstreams.first { "127.0.0.1:\($0.port)" == upstream }?.tag
    }

    /// A `down` toxic or a `refuse` partition keeps an enabled proxy's listener closed.
    static func refusesOnPurpose(_ proxy: JSONValue, cuts: [Partition]) -> Bool {
        (proxy["toxics"]?.array ?? []).contains { $0["type"]?.string == "down" }
            || faults(of: proxy, cuts: cuts).contains { $0.config.listenerEffect == .refuseNew }
    }

    /// The stages the reported partitions put on a proxy's link (by its `from` and `to`).
    static func faults(of proxy: JSONValue, cuts: [Partition]) -> [Fault] {
        guard let from = proxy["from"]?.string, let to = proxy["to"]?.string else { return [] }
        return cuts.flatMap { $0.faults(from: from, to: to) }
    }

    static func port(_ listen: String) -> Int? {
        listen.split(separator: ":").last.flatMap { Int($0) }
    }
}

/// The socket error a blocking body ended with, or nil when it did not throw.
private func socketError(_ body: () throws -> Void) -> SocketError? {
    do {
        try body()
        return nil
    } catch let error as SocketError {
        return error
    } catch {
        return .other(-2)
    }
}
