import Foundation
import RiftChecker
import RiftProxy
import Testing

@testable import RiftHarness

/// `kind: twemproxy` without processes: its settings and their errors, its links, what it
/// refuses, the config nutcracker is given, the stats it reports and how its client reads
/// nutcracker's errors. TwemproxyTests runs it on real nutcracker and memcached.
struct TwemproxyTopologyTests {
    static let nodes = "nodes:\n  - name: n1\n  - name: n2\n  - name: n3\n"

    static func parse(_ settings: String) throws -> Topology {
        try ScenarioParser.parseTopology("name: t\nkind: twemproxy\n" + nodes + settings, file: "t.yaml")
    }

    static func settings(_ t: Topology) throws -> TwemproxySettings { try #require(t.kind as? Twemproxy).settings }

    /// Unset, every setting is nutcracker's own default, but for the timeout nutcracker leaves unset.
    @Test func defaultsAreNutcrackers() throws {
        let s = try Self.settings(try Self.parse(""))
        #expect(s == TwemproxySettings(autoEjectHosts: false, serverFailureLimit: 2, serverRetryTimeoutMs: 30_000,
                                       hash: "fnv1a_64", distribution: "ketama", timeoutMs: 1000))
    }

    @Test func everySettingIsRead() throws {
        let t = try Self.parse("""
            auto_eject_hosts: true
            server_failure_limit: 3
            server_retry_timeout: 1500ms
            hash: murmur
            distribution: modula
            timeout: 250ms

            """)
        #expect(try Self.settings(t) == TwemproxySettings(autoEjectHosts: true, serverFailureLimit: 3, serverRetryTimeoutMs: 1500,
                                                          hash: "murmur", distribution: "modula", timeoutMs: 250))
        #expect(t.nodes.map(\.name) == ["n1", "n2", "n3"])
        #expect(try Self.parse("hash: md5\n") != Self.parse("hash: crc32a\n"))
    }

    /// Each bad value at its line and column, with the field and what was expected.
    @Test(arguments: [
        ("hash: sha1\n", "t.yaml:7:7: hash: unknown hash 'sha1' (known: \(TwemproxySettings.hashes.joined(separator: ", ")))"),
        ("distribution: ring\n", "t.yaml:7:15: distribution: unknown distribution 'ring' (known: ketama, modula, random)"),
        ("server_failure_limit: 0\n", "t.yaml:7:23: server_failure_limit: 0 is out of range 1...1000"),
        ("server_retry_timeout: 5ms\n", "t.yaml:7:23: server_retry_timeout: expected 10ms to 10m in whole milliseconds"),
        ("server_retry_timeout: 11m\n", "t.yaml:7:23: server_retry_timeout: expected 10ms to 10m in whole milliseconds"),
        ("timeout: 1500us\n", "t.yaml:7:10: timeout: expected 10ms to 60s in whole milliseconds"),
        ("timeout: 10500us\n", "t.yaml:7:10: timeout: expected 10ms to 60s in whole milliseconds"),
        ("auto_eject_hosts: maybe\n", "t.yaml:7:19: auto_eject_hosts: expected true or false, got 'maybe'"),
        ("listen: 127.0.0.1:1\n", "t.yaml:7:1: listen: unknown key (expected one of: name, kind, nodes, auto_eject_hosts, server_failure_limit, server_retry_timeout, hash, distribution, timeout)"),
    ])
    func aBadSettingNamesItsPlace(settings: String, expected: String) throws {
        do {
            _ = try Self.parse(settings)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test(arguments: [
        ("nodes:\n  - name: n1\n  - name: twemproxy\n", "t.yaml:4:3: nodes: 'twemproxy' names nutcracker's side of links; pick another node name"),
        ("nodes:\n  - name: n1\n  - name: n2\n    replicaof: n1\n", "t.yaml:4:3: nodes: n2: memcached nodes do not replicate (no replicaof)"),
    ])
    func aBadNodeListIsRefused(nodes: String, expected: String) throws {
        do {
            _ = try ScenarioParser.parseTopology("name: t\nkind: twemproxy\n" + nodes, file: "t.yaml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    /// Clients reach nutcracker, and nutcracker each node, each through its own proxy.
    @Test func linksRunThroughNutcracker() throws {
        let links = try Self.parse("").links
        #expect(links.map(\.proxy) == ["client-n1", "client-n2", "client-n3", "client-twemproxy", "twemproxy-to-n1", "twemproxy-to-n2", "twemproxy-to-n3"])
        #expect(links.filter { $0.from == "twemproxy" }.map(\.to) == ["n1", "n2", "n3"])
        #expect(links.first { $0.proxy == "client-twemproxy" }.map { [$0.from, $0.to] } == ["client", "twemproxy"])
    }

    /// A partition may name nutcracker (a link end); a name that is no link end is refused
    /// with the names there are.
    @Test func partitionsNameNutcracker() throws {
        let t = try Self.parse("")
        func scenario(_ groups: String) throws -> Scenario {
            try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    partition: \(groups)\n", file: "f.yaml")
        }
        try ScenarioParser.validate(try scenario("[[twemproxy, n1, n3], [n2]]"), against: t)
        do {
            try ScenarioParser.validate(try scenario("[[proxy], [n2]]"), against: t)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "f.yaml:5:5: timeline: partition names 'proxy', which is not a node of t (nodes: n1, n2, n3, twemproxy, or client)")
        }
    }

    @Test(arguments: [
        ("promote: n1", "f.yaml:5:5: timeline: promote needs a Redis topology"),
        ("restart: {node: n1, data: keep}", "f.yaml:5:5: timeline: restart with data: keep needs a Redis topology (memcached keeps no data across a restart)"),
        ("rebalance: {node: n1, to: n2, keys: [r0]}",
         "f.yaml:5:5: timeline: rebalance needs ring weights in the clients (kind: memcached) or a cluster's slots; nutcracker's ring is set by its config"),
    ])
    func aNodeActionItCannotTakeIsRefused(step: String, expected: String) throws {
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    \(step)\n", file: "f.yaml")
        do {
            try ScenarioParser.validate(s, against: try Self.parse(""))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test func theSetWorkloadIsRefused() throws {
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\nworkload: {type: set}\n", file: "f.yaml")
        do {
            try ScenarioParser.validate(s, against: try Self.parse(""))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "f.yaml:2:0: topology: the set workload needs Redis sets (SADD, SMEMBERS): a Redis primary with replicas or a Redis cluster")
        }
    }

    /// A client-side ring's ejection does not apply: nutcracker ejects. Refused at the topology line.
    @Test func theWorkloadsOwnAutoEjectIsRefused() throws {
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\nworkload: {auto_eject: true}\n", file: "f.yaml")
        do {
            try ScenarioParser.validate(s, against: try Self.parse(""))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "f.yaml:2:0: topology: workload auto_eject is for a client-side ring (kind: memcached); here nutcracker ejects: set auto_eject_hosts in the topology")
        }
    }

    /// Without nutcracker the error names the package; with it, nothing is missing.
    @Test func aMissingNutcrackerNamesItsPackage() throws {
        // A file that is there but not executable does not count.
        let plain = FileManager.default.temporaryDirectory.appendingPathComponent("rift-not-nutcracker-\(UUID())").path
        #expect(FileManager.default.createFile(atPath: plain, contents: Data(), attributes: [.posixPermissions: 0o644]))
        defer { try? FileManager.default.removeItem(atPath: plain) }
        guard case .failure(let e) = TwemproxyServers.locate(["/nonexistent/nutcracker", plain]) else {
            Issue.record("found a nutcracker")
            return
        }
        #expect(e.message == "nutcracker not found (looked in /nonexistent/nutcracker, \(plain)): install Debian's package nutcracker (ci/setup does)")
        #expect(try TwemproxyServers.locate(TwemproxyServers.executables).get().hasSuffix("/nutcracker"))
        #expect(try Self.parse("").kind.missingProgram() == nil)
    }

    /// Reads go to nutcracker: the only node a read names.
    @Test func readsNameNutcracker() throws {
        let t = try Self.parse("")
        for reads in ReadTarget.allCases { #expect(t.kind.readNodes(t, reads: reads) == ["twemproxy"]) }
    }

    @Test func theConfigIsThePoolWithServersByProxyAndName() {
        let s = TwemproxySettings(autoEjectHosts: true, serverFailureLimit: 2, serverRetryTimeoutMs: 1000, hash: "md5", timeoutMs: 500)
        let text = TwemproxyServers.config(settings: s, listenPort: 4000, servers: [("n1", 4001), ("n2", 4002)])
        #expect(text == """
            rift:
              listen: 127.0.0.1:4000
              hash: md5
              distribution: ketama
              auto_eject_hosts: true
              server_failure_limit: 2
              server_retry_timeout: 1000
              timeout: 500
              servers:
                - 127.0.0.1:4001:1 n1
                - 127.0.0.1:4002:1 n2

            """)
    }

    /// nutcracker 0.5.0's stats port after an ejection of n2, as it printed it.
    static let statsFixture = """
        {"service":"nutcracker", "source":"vm", "version":"0.5.0", "uptime":16, "timestamp":1796676579, "total_connections":26, \
        "curr_connections":2, "rift": {"client_eof":20, "client_err":1, "client_connections":0, "server_ejects":2, "forward_error":4, \
        "fragments":0, "n1": {"server_eof":0, "server_err":0, "server_timedout":0, "server_connections":1, "server_ejected_at":0, \
        "requests":21, "request_bytes":323, "responses":21, "response_bytes":225, "in_queue":0, "in_queue_bytes":0, "out_queue":0, \
        "out_queue_bytes":0},"n2": {"server_eof":1, "server_err":4, "server_timedout":3, "server_connections":0, \
        "server_ejected_at":1796676576796212, "requests":4, "request_bytes":72, "responses":0, "response_bytes":0, "in_queue":0, \
        "in_queue_bytes":0, "out_queue":0, "out_queue_bytes":0}}}
        """

    @Test func statsAreReadPerServer() throws {
        let stats = try TwemproxyServers.parseStats(Array(Self.statsFixture.utf8), pool: "rift")
        #expect(stats == TwemproxyStats(pool: "rift", ejections: 2, forwardErrors: 4, clientErrors: 1, servers: [
            "n1": .init(requests: 21, responses: 21),
            "n2": .init(requests: 4, responses: 0, errors: 4, timeouts: 3, eof: 1, lastEjectedAtUs: 1_796_676_576_796_212),
        ]))
        #expect(throws: FleetError.self) { try TwemproxyServers.parseStats(Array(Self.statsFixture.utf8), pool: "other") }
        #expect(throws: FleetError.self) { try TwemproxyServers.parseStats(Array("{\"rift\": {\"server_ejects\": 1}}".utf8), pool: "rift") }
    }

    /// result.json carries the section and reads it back as written.
    @Test func resultJSONRoundTripsTheStats() throws {
        let stats = try TwemproxyServers.parseStats(Array(Self.statsFixture.utf8), pool: "rift")
        let record = RunRecord(scenario: "s", topology: "t", seed: 1, twemproxy: stats)
        let text = String(decoding: try record.jsonData(), as: UTF8.self)
        #expect(text.contains("\"twemproxy\":{\"client_errors\":1,\"ejections\":2,\"forward_errors\":4,\"pool\":\"rift\",\"servers\":{"))
        #expect(text.contains("\"n2\":{\"eof\":1,\"errors\":4,\"last_ejected_at_us\":1796676576796212,\"requests\":4,\"responses\":0,\"timeouts\":3}"))
        #expect(try RunRecord.read(try record.jsonData()).twemproxy == stats)
        #expect(try RunRecord.read(try RunRecord(scenario: "s", topology: "t", seed: 1).jsonData()).twemproxy == nil)
    }

    /// `SERVER_ERROR Connection refused`: the server was never reached. Any other error may
    /// follow a write the server carried out.
    @Test func nutcrackersErrorsAsWriteOutcomes() {
        #expect(TwemproxyClient.writeFailure("SERVER_ERROR Connection refused") == .refused("SERVER_ERROR Connection refused"))
        #expect(TwemproxyClient.writeFailure("SERVER_ERROR Connection timed out") == .unexpected("SERVER_ERROR Connection timed out"))
        #expect(TwemproxyClient.writeFailure("SERVER_ERROR Connection reset by peer") == .unexpected("SERVER_ERROR Connection reset by peer"))
    }
}
