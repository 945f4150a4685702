import Foundation
import Hummingbird
import Testing
@testable import RiftControl

@Suite struct RiftEndpointTests {
    static let linked = [
        #"{"name":"n2-n1","upstream":"127.0.0.1:6379","from":"n2","to":"n1"}"#,
        #"{"name":"n1-n2","upstream":"127.0.0.1:6380","from":"n1","to":"n2"}"#,
    ]

    @Test func partitionsAreCreatedListedAndHealed() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            for body in Self.linked { try await api.call(.post, "/proxies", body) }
            let created = try await api.call(.post, "/rift/partitions", #"{"groups":[["n1"],["n2"]],"mode":"reset","one_way":false}"#)
            #expect(created.status == .created)
            let id = try #require(created.json?["id"]?.string)
            #expect(created.json?["groups"] == .array([.array([.string("n1")]), .array([.string("n2")])]))
            #expect(created.json?["mode"]?.string == "reset")
            #expect(try await api.call(.get, "/rift/partitions").json?.array?.count == 1)
            // The cut shows in metrics, not as user toxics.
            #expect(try await api.call(.get, "/proxies/n2-n1").json?["toxics"] == .array([]))
            #expect(api.plane.server.proxy(named: "n2-n1")?.snapshot.partitionFaults.isEmpty == false)

            #expect(try await api.call(.delete, "/rift/partitions/\(id)").status == .noContent)
            #expect(try await api.call(.get, "/rift/partitions").json == .array([]))
            let missing = try await api.call(.delete, "/rift/partitions/\(id)")
            #expect(missing.status == .notFound)
            #expect(missing.error == "partition not found")

            try await api.call(.post, "/rift/partitions", #"{"groups":[["n1"]]}"#)
            try await api.call(.post, "/rift/partitions", #"{"groups":[["n2"]],"mode":"blackhole","one_way":true}"#)
            #expect(try await api.call(.delete, "/rift/partitions").status == .noContent)
            #expect(try await api.call(.get, "/rift/partitions").json == .array([]))
            #expect(api.plane.server.proxy(named: "n2-n1")?.snapshot.partitionFaults.isEmpty == true)
        }
    }

    @Test func badPartitionsAre400() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            #expect(try await api.call(.post, "/rift/partitions", #"{}"#).error == "missing required field: groups")
            #expect(try await api.call(.post, "/rift/partitions", #"{"groups":[["n1"]],"mode":"melt"}"#).status == .badRequest)
            #expect(try await api.call(.post, "/rift/partitions", #"{"groups":[["n1"],["n1"]]}"#).status == .badRequest)
            #expect(try await api.call(.post, "/rift/partitions", #"{"groups":[[]]}"#).status == .badRequest)
            #expect(try await api.call(.post, "/rift/partitions", #"{"groups":["n1"]}"#).status == .badRequest)
        }
    }

    @Test func timedPartitionHealsByItself() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            for body in Self.linked { try await api.call(.post, "/proxies", body) }
            let created = try await api.call(.post, "/rift/partitions", #"{"groups":[["n1"],["n2"]],"duration_ms":30}"#)
            #expect(created.json?["expires_at_ms"] != nil)
            #expect(try await eventually { try await api.call(.get, "/rift/partitions").json == .array([]) })
            #expect(api.plane.events.events().last?.kind == "partition.heal")
        }
    }

    @Test func eventsRecordEveryChangeWithBothClocksAndGoToTheFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rift-events-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await APIHarness.run(eventsPath: path) { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.linked[0])
            try await api.call(.post, "/proxies/n2-n1/toxics", #"{"type":"latency","attributes":{"latency":1}}"#)
            try await api.call(.post, "/proxies/n2-n1/toxics/latency_downstream", #"{"attributes":{"latency":2}}"#)
            try await api.call(.delete, "/proxies/n2-n1/toxics/latency_downstream")
            try await api.call(.post, "/rift/partitions", #"{"groups":[["n1"]]}"#)
            try await api.call(.delete, "/rift/partitions")
            try await api.call(.post, "/proxies/n2-n1", #"{"enabled":false}"#)
            try await api.call(.post, "/reset")
            try await api.call(.delete, "/proxies/n2-n1")
            let expected = ["proxy.create", "toxic.add", "toxic.update", "toxic.remove", "partition.create",
                            "partition.heal", "proxy.update", "reset", "proxy.delete"]

            let events = try #require(try await api.call(.get, "/rift/events").json?.array)
            #expect(events.map { $0["kind"]?.string } == expected)
            let seqs = events.compactMap { $0["seq"]?.number }
            #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
            let monos = events.compactMap { $0["monotonic_ns"]?.number }
            #expect(monos.count == events.count && monos == monos.sorted())
            #expect(events.allSatisfy { ($0["wall_ns"]?.number ?? 0) > 1.6e18 })
            #expect(events[1]["proxy"]?.string == "n2-n1" && events[1]["toxic"]?.string == "latency_downstream")
            #expect(events[1]["detail"]?["attributes"]?["latency"]?.number == 1)

            let after = try await api.call(.get, "/rift/events?after=\(Int(seqs[6]))")
            #expect(after.json?.array?.map { $0["kind"]?.string } == ["reset", "proxy.delete"])

            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == expected.count)
            // Nanosecond timestamps are written whole, never as a rounded double.
            #expect(lines.allSatisfy { !$0.contains("e+") && $0.contains(#""time":""#) && $0.contains("Z\"") }, "\(lines[0])")
            let parsed = lines.compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
            #expect(parsed.map { $0["kind"]?.string } == expected)
        }
    }

    @Test func metricsUseToxiproxyNamesAndCountRiftState() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let created = try await api.call(.post, "/proxies", Self.linked[0])
            let listen = try #require(created.json?["listen"]?.string)
            try await api.call(.post, "/proxies/n2-n1/toxics", #"{"type":"latency"}"#)
            try await api.call(.post, "/rift/partitions", #"{"groups":[["n1"]]}"#)
            let r = try await api.call(.get, "/metrics")
            #expect(r.status == .ok)
            let labels = #"listener="\#(listen)",proxy="n2-n1",upstream="127.0.0.1:6379""#
            #expect(r.text.contains(#"toxiproxy_proxy_received_bytes_total{direction="upstream",\#(labels)} 0"#), "\(r.text)")
            #expect(r.text.contains(#"toxiproxy_proxy_sent_bytes_total{direction="downstream",\#(labels)} 0"#))
            #expect(r.text.contains(#"rift_proxy_connections_open{proxy="n2-n1"} 0"#))
            #expect(r.text.contains(#"rift_proxy_connections_relayed{proxy="n2-n1"} 0"#))
            #expect(r.text.contains(#"rift_proxy_connections_total{proxy="n2-n1"} 0"#))
            #expect(r.text.contains(#"rift_proxy_faults_active{proxy="n2-n1"} 3"#))
            #expect(r.text.contains("rift_partitions_active 1"))
        }
    }
}

@Suite struct ProtocolTests {
    @Test func malformedJSONIs400WithTheParserReason() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let r = try await api.call(.post, "/proxies", #"{"name": "a", "#)
            #expect(r.status == .badRequest)
            #expect(r.error?.hasPrefix("bad request body:") == true)
            #expect((r.error?.count ?? 0) > "bad request body: ".count)
            let notObject = try await api.call(.post, "/proxies", "[1]")
            #expect(notObject.status == .badRequest)
            let empty = try await api.call(.post, "/proxies/")
            #expect(empty.status.code >= 400)
            let wrongType = try await api.call(.post, "/proxies", #"{"name":5,"upstream":"127.0.0.1:1"}"#)
            #expect(wrongType.status == .badRequest)
        }
    }

    @Test func bodiesOverOneMebibyteAre413() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let big = #"{"name":""# + String(repeating: "x", count: ControlAPI.maxBodyBytes) + #""}"#
            let r = try await api.call(.post, "/proxies", big)
            #expect(r.status == .contentTooLarge)
            #expect(r.json?["status"]?.number == 413)
            // The server carries on.
            #expect(try await api.call(.get, "/version").status == .ok)
        }
    }

    @Test func browsersAreRefused() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let r = try await api.call(.get, "/proxies", headers: [.userAgent: "Mozilla/5.0 (X11; Linux x86_64)"])
            #expect(r.status == .forbidden)
            #expect(try await api.call(.get, "/proxies", headers: [.userAgent: "python-requests/2.31"]).status == .ok)
        }
    }

    @Test func unknownRoutesAnswerJSON404() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let r = try await api.call(.get, "/nothing/here")
            #expect(r.status == .notFound)
            #expect(r.json?["status"]?.number == 404)
        }
    }

    @Test func tokenIsRequiredWhenConfigured() async throws {
        try await APIHarness.run(token: "s3cret-token-0123456789") { (api: APIHarness) async throws in
            #expect(try await api.call(.get, "/proxies").status == .unauthorized)
            #expect(try await api.call(.get, "/proxies", headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            #expect(try await api.call(.get, "/proxies", headers: [.authorization: "Bearer s3cret-token-0123456789x"]).status == .unauthorized)
            #expect(try await api.call(.get, "/proxies", headers: [.authorization: "Bearer s3cret-token-0123456789"]).status == .ok)
        }
    }

    @Test func constantTimeCompare() {
        typealias M = BearerTokenMiddleware<BasicRequestContext>
        #expect(M.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!M.constantTimeEqual(Array("abd".utf8), Array("abc".utf8)))
        #expect(!M.constantTimeEqual(Array("ab".utf8), Array("abc".utf8)))
        #expect(!M.constantTimeEqual(Array("abcd".utf8), Array("abc".utf8)))
        #expect(!M.constantTimeEqual([], Array("abc".utf8)))
    }
}
