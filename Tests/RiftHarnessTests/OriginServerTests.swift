import Foundation
import NIOCore
import RiftTestSupport
import Testing

@testable import RiftHarness

/// The origin of truth: its protocol (pure), its store and gauge, and the server on a real
/// loopback port.
@Suite struct OriginServerTests {
    func parse(_ text: String) throws(OriginFramingError) -> (OriginRequest?, Int) {
        var b = ByteBuffer(string: text)
        let r = try OriginRequestDecoder.parse(&b)
        return (r, b.readableBytes)
    }

    @Test func decodesEachRequest() throws {
        #expect(try parse("GET k1\r\n") == (.get(key: "k1"), 0))
        #expect(try parse("SET k1 3\r\nabc\r\nGET") == (.set(key: "k1", value: "abc", version: nil), 3))
        #expect(try parse("SET k1 0 7\r\n\r\n") == (.set(key: "k1", value: "", version: 7), 0))
        #expect(try parse("gauge\r\n") == (.gauge, 0))
        #expect(try parse("FLY away\r\n") == (.invalid("unknown command FLY"), 0))
        #expect(try parse("GET\r\n") == (.invalid("usage: GET <key>"), 0))
        #expect(try parse("SET k 1 -3\r\nx\r\n") == (.invalid("version must be a positive integer"), 0))
    }

    @Test func incompleteInputConsumesNothing() throws {
        #expect(try parse("GET k1") == (nil, 6))
        #expect(try parse("SET k1 5\r\nab") == (nil, 12))
        #expect(try parse("SET k1 5\r\nabcde\r") == (nil, 16))
    }

    @Test func framingErrorsAreThrown() {
        #expect(throws: OriginFramingError(reason: "line longer than 1024 bytes")) { try parse(String(repeating: "G", count: 2000)) }
        #expect(throws: OriginFramingError(reason: "usage: SET <key> <bytes> [<version>]")) { try parse("SET k x\r\n") }
        #expect(throws: OriginFramingError(reason: "value longer than 1048576 bytes")) { try parse("SET k 9999999\r\n") }
        #expect(throws: OriginFramingError(reason: "SET data is not followed by CRLF")) { try parse("SET k 1\r\nxyz\r\n") }
    }

    @Test func storeVersionsOnlyMoveForward() {
        let s = OriginStore()
        #expect(s.execute(.get(key: "a")) == .none)
        #expect(s.execute(.set(key: "a", value: "x", version: nil)) == .ok(version: 1))
        #expect(s.execute(.set(key: "a", value: "y", version: nil)) == .ok(version: 2))
        #expect(s.execute(.set(key: "a", value: "z", version: 9)) == .ok(version: 9))
        #expect(s.execute(.set(key: "a", value: "old", version: 4)) == .stale(current: 9))
        #expect(s.execute(.get(key: "a")) == .value(version: 9, data: "z"))
        s.preload(["b"], value: "p")
        #expect(s.execute(.get(key: "b")) == .value(version: 1, data: "p"))
    }

    @Test func gaugeKeepsEveryPeakBetweenSamples() {
        let g = OriginGauge()
        for _ in 0..<5 { g.begin() }
        for _ in 0..<4 { g.end() }
        #expect(g.current == (1, 5))
        #expect(g.sample(at: 10) == OriginGauge.Sample(timeNs: 10, inFlight: 1, peak: 5))
        // The next interval starts from the count at the sample, not the old peak.
        #expect(g.sample(at: 20) == OriginGauge.Sample(timeNs: 20, inFlight: 1, peak: 1))
        g.begin(); g.begin()
        #expect(g.sample(at: 30).peak == 3)
    }

    @Test func serverSpeaksTheProtocolOverTCP() async throws { try await onOwnQueue { try await self.serverSpeaksTheProtocolOverTCPBody() } }

    func serverSpeaksTheProtocolOverTCPBody() async throws {
        let origin = try await OriginServer.start(serviceTimeNs: 20_000_000)
        let c = OriginConnection(port: UInt16(origin.port))
        defer { c.close() }
        let deadline = { monotonicNs() + 2_000_000_000 }
        let absent = try c.get("k", deadlineNs: deadline())
        #expect(absent.version == 0 && absent.value == nil)
        #expect(try c.set("k", "hello", version: nil, deadlineNs: deadline()) == .stored(version: 1))
        #expect(try c.set("k", "again", version: 5, deadlineNs: deadline()) == .stored(version: 5))
        #expect(try c.set("k", "late", version: 3, deadlineNs: deadline()) == .stale(current: 5))
        let got = try c.get("k", deadlineNs: deadline())
        #expect(got.version == 5 && got.value == "again")
        let started = monotonicNs()
        _ = try c.get("k", deadlineNs: deadline())
        #expect(monotonicNs() - started >= 20_000_000, "each request takes the service time")
        #expect(try c.gauge(deadlineNs: deadline()) == (0, 1))
        await origin.stop()
    }

    /// 40 clients at once on a 300 ms service time: all 40 are in flight together, and the
    /// sampled series shows the same peak as the exact gauge.
    @Test func gaugeCountsConcurrentRequests() async throws {
        let origin = try await OriginServer.start(serviceTimeNs: 300_000_000, sampleIntervalNs: 5_000_000)
        let port = UInt16(origin.port)
        // Threads, not tasks: the clients block, and the task pool has a thread per core.
        let answered = AnsweredCount()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for i in 0..<40 {
                group.enter()
                Thread {
                    let c = OriginConnection(port: port)
                    if (try? c.get("k\(i)", deadlineNs: monotonicNs() + 5_000_000_000)) != nil { answered.add() }
                    c.close()
                    group.leave()
                }.start()
            }
            group.notify(queue: .global()) { done.resume() }
        }
        #expect(answered.value == 40)
        #expect(origin.store.gauge.current == (0, 40))
        await origin.stop()
        let (samples, dropped) = origin.series
        #expect(dropped == 0)
        #expect(samples.map(\.peak).max() == 40)
        #expect(samples.last?.inFlight == 0)
    }

    @Test func badBytesGetAnErrorAndFramingErrorsCloseTheConnection() async throws { try await onOwnQueue { try await self.badBytesBody() } }

    func badBytesBody() async throws {
        let origin = try await OriginServer.start(serviceTimeNs: 0)
        let socket = ClientConnection.connected(try BlockingSocket(port: UInt16(origin.port)))
        defer { socket.close() }
        let deadline = monotonicNs() + 2_000_000_000
        // An unknown command is answered and the connection stays.
        try socket.send(deadlineNs: deadline) { $0.writeString("FLY\r\nGET k\r\n") }
        #expect(try socket.line(deadlineNs: deadline) == "ERROR unknown command FLY")
        #expect(try socket.line(deadlineNs: deadline) == "NONE")
        // A SET whose length cannot be read cannot be framed: error, then closed.
        try socket.send(deadlineNs: deadline) { $0.writeString("SET k x\r\n") }
        #expect(try socket.line(deadlineNs: deadline) == "ERROR usage: SET <key> <bytes> [<version>]")
        #expect(throws: ClientError.socket(.closedByPeer)) { _ = try socket.line(deadlineNs: deadline) }
        await origin.stop()
    }
}

final class AnsweredCount: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
