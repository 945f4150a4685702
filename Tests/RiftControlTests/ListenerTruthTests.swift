import Foundation
import Hummingbird
import RiftTestSupport
import Testing
@testable import RiftControl

/// Issue 15's findings, each pinned: a change whose listener cannot open leaves the proxy as
/// it was (or disabled, as Toxiproxy leaves it), and the API says so. With and without the relay.
@Suite struct ListenerTruthTests {
    /// Relays one line through 127.0.0.1:`port`; the upstream's tag comes back with it.
    static func echo(_ port: Int) throws -> String {
        let socket = try BlockingSocket(port: UInt16(port))
        try socket.send("hello\n")
        var received: [UInt8] = []
        while !received.contains(UInt8(ascii: "\n")) { received += try socket.receive() }
        return String(decoding: received, as: UTF8.self)
    }

    static func refuses(_ port: Int) -> Bool {
        do {
            _ = try BlockingSocket(port: UInt16(port))
            return false
        } catch {
            return error == .connectionRefused
        }
    }

    static func port(_ reply: APIHarness.Reply) throws -> Int {
        try #require(reply.json?["listen"]?.string?.split(separator: ":").last.flatMap { Int($0) })
    }

    /// An API with proxy `r` in front of an echo upstream tagged `u`; `created` is its answer.
    static func withProxy(relay: Bool, _ body: @Sendable (_ api: APIHarness, _ created: APIHarness.Reply) async throws -> Void) async throws {
        let upstream = try TaggedEchoServer(tag: "u")
        defer { upstream.stop() }
        try await APIHarness.run(relay: relay) { (api: APIHarness) async throws in
            try await body(api, try await api.call(.post, "/proxies", #"{"name":"r","upstream":"127.0.0.1:\#(upstream.port)"}"#))
        }
    }

    @Test(arguments: [true, false])
    func aListenAddressThatCannotBindLeavesTheOldListenerServing(relay: Bool) async throws {
        try await Self.withProxy(relay: relay) { api, created in
            let port = try Self.port(created)
            let moved = try await api.call(.post, "/proxies/r", #"{"listen":"1.2.3.4:5"}"#)
            #expect(moved.status == .internalServerError)
            #expect(moved.error?.contains("cannot listen on 1.2.3.4:5") == true)
            let now = try await api.call(.get, "/proxies/r")
            #expect(now.json == created.json)
            #expect(try Self.echo(port) == "u hello\n")
        }
    }

    @Test(arguments: [true, false])
    func enablingWhereNothingCanListenLeavesItDisabled(relay: Bool) async throws {
        try await Self.withProxy(relay: relay) { api, created in
            let port = try Self.port(created)
            #expect(try await api.call(.post, "/proxies/r", #"{"enabled":false}"#).status == .ok)
            #expect(Self.refuses(port))
            // Disabled, a new address is only recorded; enabling there fails and changes nothing.
            let moved = try await api.call(.post, "/proxies/r", #"{"listen":"1.2.3.4:5"}"#)
            #expect(moved.json?["listen"]?.string == "1.2.3.4:5")
            #expect(moved.json?["enabled"]?.bool == false)
            let enabled = try await api.call(.post, "/proxies/r", #"{"enabled":true}"#)
            #expect(enabled.status == .internalServerError)
            let now = try await api.call(.get, "/proxies/r")
            #expect(now.json?["enabled"]?.bool == false)
            #expect(now.json?["listen"]?.string == "1.2.3.4:5")
            // Both at once: a free address and enabled.
            let back = try await api.call(.patch, "/proxies/r", #"{"listen":"127.0.0.1:0","enabled":true}"#)
            #expect(back.json?["enabled"]?.bool == true)
            #expect(try Self.echo(try Self.port(back)) == "u hello\n")
        }
    }

    @Test(arguments: [true, false])
    func aPortTakenWhileDownHeldItClosedDisablesTheProxy(relay: Bool) async throws {
        let other = try TaggedEchoServer(tag: "o")
        defer { other.stop() }
        try await Self.withProxy(relay: relay) { api, created in
            let listen = try #require(created.json?["listen"]?.string)
            try await api.call(.post, "/proxies/r/toxics", #"{"name":"off","type":"down"}"#)
            #expect(Self.refuses(try Self.port(created)))
            let thief = try await api.call(.post, "/proxies", #"{"name":"thief","listen":"\#(listen)","upstream":"127.0.0.1:\#(other.port)"}"#)
            #expect(thief.status == .created)
            #expect(try await api.call(.delete, "/proxies/r/toxics/off").status == .noContent)
            let now = try await api.call(.get, "/proxies/r")
            #expect(now.json?["enabled"]?.bool == false)
            #expect(now.json?["toxics"] == .array([]))
            #expect(try Self.echo(try Self.port(created)) == "o hello\n")
            let disabled = api.plane.events.events(after: 0).filter { $0.kind == "proxy.disable" }
            #expect(disabled.map(\.proxy) == ["r"])
            #expect(disabled.first?.detail?["reason"]?.string?.contains("in use") == true)
            // Reset cannot enable it either, and says so; the rest is reset.
            let reset = try await api.call(.post, "/reset")
            #expect(reset.status == .internalServerError)
            #expect(reset.error?.contains("proxy r: cannot listen on \(listen)") == true)
            #expect(try await api.call(.get, "/proxies/r").json?["enabled"]?.bool == false)
        }
    }

    @Test(arguments: [true, false])
    func populateStopsAtTheFirstFailureAndListsWhatItApplied(relay: Bool) async throws {
        let upstream = try TaggedEchoServer(tag: "u")
        let blocker = try BlockingListener()
        defer { upstream.stop(); blocker.close() }
        try await APIHarness.run(relay: relay) { (api: APIHarness) async throws in
            let b = try await api.call(.post, "/proxies", #"{"name":"b","upstream":"127.0.0.1:\#(upstream.port)"}"#)
            let bPort = try Self.port(b)
            let body = """
                [{"name":"a","upstream":"127.0.0.1:\(upstream.port)"},
                 {"name":"b","listen":"127.0.0.1:\(blocker.port)","upstream":"127.0.0.1:\(upstream.port)"},
                 {"name":"c","upstream":"127.0.0.1:\(upstream.port)"}]
                """
            let r = try await api.call(.post, "/populate", body)
            #expect(r.status == .internalServerError)
            #expect(r.json?["proxies"]?.array?.compactMap { $0["name"]?.string } == ["a"])
            #expect(r.error?.contains("proxy b: ") == true)
            // b was to be replaced and could not be: it is as it was, serving.
            #expect(try await api.call(.get, "/proxies/b").json == b.json)
            #expect(try Self.echo(bPort) == "u hello\n")
            #expect(try await api.call(.get, "/proxies/c").status == .notFound)
            let a = try await api.call(.get, "/proxies/a")
            #expect(try Self.echo(try Self.port(a)) == "u hello\n")
        }
    }
}
