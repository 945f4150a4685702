import Foundation
import Glibc
import RiftChecker
import RiftClient
import RiftHistory
import RiftTestSupport
import Testing

@testable import RiftHarness

/// Agents on many hosts: an external topology's `hosts:` and each node's `host:`, then two
/// `rift server` agents on loopback started here as two hosts. A replica's replication link is
/// created on its own host's agent, a cut between hosts goes through that agent, the heal
/// restores it, and nothing Rift created remains; an agent killed mid-run makes the verdict
/// unknown, names it, and the other agent is cleaned up.
@Suite(.serialized) struct AgentTests {

    func tokenFile(_ dir: String, _ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsHostsAndPlacesEachLinkOnItsFromHost() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-agents-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try tokenFile(dir, "h1.token", "secret-one-0123456789\n")
        _ = try tokenFile(dir, "h2.token", "secret-two-0123456789")
        let t = try ScenarioParser.parseTopology("""
            name: hosts
            kind: external
            route_replication: true
            hosts:
              h1: {api: "http://10.0.0.1:8474", token_file: h1.token}
              h2: {api: "http://10.0.0.2:8474/", token_file: \(dir)/h2.token}
            nodes:
              - {name: n1, address: 10.0.0.1:6379, host: h1}
              - {name: n2, address: 10.0.0.2:6379, replicaof: n1, host: h2}
              - {name: n3, address: 10.0.0.3:6379, replicaof: n1}

            """, file: dir + "/topology.yaml")
        let kind = try #require(t.kind as? External)
        #expect(kind.nodeHosts == ["n1": "h1", "n2": "h2"])
        let h1 = try #require(kind.hosts["h1"]), h2 = try #require(kind.hosts["h2"])
        #expect(h1.host == "10.0.0.1" && h1.port == 8474 && h1.token.value == "secret-one-0123456789")
        #expect(h2.host == "10.0.0.2" && h2.token.file == dir + "/h2.token")
        // n2's link on h2's agent; n3 has no host, so its link is the runner's own; clients too.
        #expect(kind.linkPlacement(t).mapValues(\.name) == ["n2-to-n1": "h2"])
        // The token never shows in what may be printed.
        for text in ["\(h1)", String(reflecting: h1), "\(t)", String(reflecting: kind)] {
            #expect(!text.contains("secret-one"), "\(text)")
        }
    }

    @Test(arguments: [
        ("hosts:\n  h1: {api: \"http://a:1\", token_file: nope.token}\n", "t.yaml:4:39: hosts.h1.token_file: cannot read token file"),
        ("hosts:\n  h1: {api: \"http://a:1\", token_file: empty.token}\n", "t.yaml:4:39: hosts.h1.token_file: token file"),
        ("hosts:\n  h1: {api: \"http://a:1\"}\n", "missing required field: token_file"),
        ("hosts:\n  h1: {api: \"a:1\", token_file: ok.token}\n", "t.yaml:4:13: hosts.h1.api: expected http://HOST:PORT"),
        ("hosts:\n  h1: {api: \"http://a:1\", token_file: ok.token, tls: true}\n", "hosts.h1.tls: unknown key"),
    ])
    func badHosts(body: String, expected: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-agents-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try tokenFile(dir, "empty.token", "\n")
        _ = try tokenFile(dir, "ok.token", "x")
        let got = errorText {
            _ = try ScenarioParser.parseTopology("name: x\nkind: external\n" + body + "nodes:\n  - {name: n1, address: a:1}\n", file: dir + "/t.yaml")
        }
        #expect(got.contains(expected.replacingOccurrences(of: "t.yaml", with: dir + "/t.yaml")), "\(got)")
    }

    @Test func aNodeNamesAKnownHost() throws {
        let got = errorText {
            _ = try ScenarioParser.parseTopology("name: x\nkind: external\nnodes:\n  - {name: n1, address: a:1, host: h9}\n", file: "t.yaml")
        }
        #expect(got.hasPrefix("t.yaml:4:36: nodes[0].host: n1: no host 'h9' (hosts: )"), "\(got)")
    }

    // MARK: Two agents on loopback

    /// A `rift server` agent on a free loopback port with a token file.
    struct Agent {
        let server: RunningRift
        let port: UInt16
        let token: String

        init(_ dir: String, _ name: String) throws {
            token = "token-\(name)-\(UUID().uuidString)"
            let file = dir + "/\(name).token"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try token.write(toFile: file, atomically: true, encoding: .utf8)
            server = try RunningRift(["server", "--api", "127.0.0.1:0", "--token", file])
            guard server.waitForOutput("API on http://127.0.0.1:"),
                  let line = server.stdout.split(separator: "\n").first(where: { $0.contains("API on http://127.0.0.1:") }),
                  let port = UInt16(line.split(separator: ":").last ?? "") else {
                throw FleetError("agent \(name) did not start: \(server.stdout) \(server.stderr)")
            }
            self.port = port
        }

        /// One request; the status line and body.
        func call(_ method: String, _ path: String, withToken: Bool = true) throws -> String {
            let socket = try BlockingSocket(port: port)
            defer { socket.close() }
            let auth = withToken ? "Authorization: Bearer \(token)\r\n" : ""
            try socket.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Content-Length: 0\r\nConnection: close\r\n\r\n")
            return String(decoding: try socket.receiveUntilClosed(), as: UTF8.self)
        }

        /// The names of its proxies.
        func proxies() throws -> [String] {
            let answer = try call("GET", "/proxies")
            let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined()
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] ?? [:]
            return json.keys.sorted()
        }
    }

    /// A primary on h1, a replica on h2 and a replica on h1: n2's link on h2's agent, n3's on h1's.
    func files(_ dir: String, agentPorts: (h1: UInt16, h2: UInt16), n1: RedisServer, n2: RedisServer, n3: RedisServer, timeline: String) throws -> String {
        try """
            name: two-hosts
            kind: external
            route_replication: true
            hosts:
              h1: {api: "http://127.0.0.1:\(agentPorts.h1)", token_file: h1.token}
              h2: {api: "http://127.0.0.1:\(agentPorts.h2)", token_file: h2.token}
            nodes:
              - {name: n1, address: 127.0.0.1:\(n1.port), host: h1}
              - {name: n2, address: 127.0.0.1:\(n2.port), replicaof: n1, host: h2}
              - {name: n3, address: 127.0.0.1:\(n3.port), replicaof: n1, host: h1}

            """.write(toFile: dir + "/topology.yaml", atomically: true, encoding: .utf8)
        try """
            name: two-hosts-run
            topology: ./topology.yaml
            seed: 5
            duration: 5s
            workload: {type: register, processes: 4, rate: 200, keys: 3, reads: replicas}
            timeline:
            \(timeline)
            checks:
              - {name: replica reads during the cut, check: staleness, from: start, until: heal, max_staleness: 300ms}

            """.write(toFile: dir + "/scenario.yaml", atomically: true, encoding: .utf8)
        return dir + "/scenario.yaml"
    }


    @Test func linksLiveOnTheirHostsAgentsAndAreCutHealedAndDeleted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-agents-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a1 = try Agent(dir, "h1"), a2 = try Agent(dir, "h2")
        defer { a1.server.stop(); a2.server.stop() }
        // An agent refuses a request without its token.
        #expect(try a2.call("GET", "/proxies", withToken: false).hasPrefix("HTTP/1.1 401"))
        let n1 = try RedisServer.started()
        defer { n1.stop() }
        let n2 = try RedisServer.startedReplica(of: n1), n3 = try RedisServer.startedReplica(of: n1)
        defer { n2.stop(); n3.stop() }
        try n2.waitForReplicaLink()
        try n3.waitForReplicaLink()
        let scenario = try files(dir, agentPorts: (a1.port, a2.port), n1: n1, n2: n2, n3: n3,
                                 timeline: """
                                   - {at: 500ms, fault: {proxy: n3-to-n1, type: latency, stream: downstream, attributes: {latency: 20}}}
                                   - {at: 1500ms, partition: [[n1], [n2, n3]]}
                                   - {at: 3500ms, heal: {}}
                                 """)
        let run = try RunningRift(["run", scenario, "--out", dir + "/run"])
        // Mid-run, before the cut: each replica's link on its own host's agent, and the fault
        // step on n3's link on n3's host's agent.
        #expect(run.waitForOutput("[  1s]"), "\(run.stdout)")
        let during = (h1: try a1.proxies(), h2: try a2.proxies())
        let toxics = try a1.call("GET", "/proxies/n3-to-n1/toxics")
        let r = run.wait(timeout: .seconds(60))
        #expect(during.h1 == ["n3-to-n1"] && during.h2 == ["n2-to-n1"], "\(during)")
        #expect(toxics.contains("\"timeline-0\"") && toxics.contains("\"latency\""), "\(toxics)")
        // The cut held both streams: replica reads fell behind (a certain failure).
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("replica reads during the cut") && r.stdout.contains("verdict: FAIL"), "\(r.stdout)")
        // Nothing left on either agent; the replicas back on the primary's own address.
        #expect(try a1.proxies().isEmpty && a2.proxies().isEmpty)
        #expect(try n2.replicationInfo("master_port") == String(n1.port) && n3.replicationInfo("master_port") == String(n1.port))
        try n2.waitForReplicaLink()
        // The token is in no output.
        #expect(!r.stdout.contains(a1.token) && !r.stderr.contains(a1.token) && !r.stdout.contains(a2.token))
    }

    @Test func anAgentKilledMidRunMakesTheVerdictUnknownAndTheOtherIsCleanedUp() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-agents-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a1 = try Agent(dir, "h1"), a2 = try Agent(dir, "h2")
        defer { a1.server.stop(); a2.server.stop() }
        let n1 = try RedisServer.started()
        defer { n1.stop() }
        let n2 = try RedisServer.startedReplica(of: n1), n3 = try RedisServer.startedReplica(of: n1)
        defer { n2.stop(); n3.stop() }
        try n2.waitForReplicaLink()
        try n3.waitForReplicaLink()
        let scenario = try files(dir, agentPorts: (a1.port, a2.port), n1: n1, n2: n2, n3: n3,
                                 timeline: "  - {at: 1s, partition: [[n1], [n2, n3]]}\n  - {at: 4500ms, heal: {}}")
        let run = try RunningRift(["run", scenario, "--out", dir + "/run"])
        #expect(run.waitForOutput("[  2s]"), "\(run.stdout)")
        a2.server.signal(SIGKILL)
        let r = run.wait(timeout: .seconds(60))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        let label = "h2 (http://127.0.0.1:\(a2.port))"
        #expect(r.stdout.contains("agent stopped answering: agent \(label)") && r.stdout.contains("may remain on it: proxy n2-to-n1"), "\(r.stdout)")
        #expect(r.stdout.contains("verdict: UNKNOWN - 1 agent(s) stopped answering"), "\(r.stdout)")
        let record = try runRecord(dir + "/run")
        #expect(record.verdict == .unknown && record.agentFailures.count == 1)
        let history = try HistoryReader.read(path: dir + "/run/history.jsonl").paired()
        #expect(history.nemesis.contains { $0.f == "agent-silent" && $0.type == .info })
        // The agent that answers was healed and emptied; its replica is back on the primary.
        #expect(try a1.proxies().isEmpty)
        #expect(try n3.replicationInfo("master_port") == String(n1.port) && n2.replicationInfo("master_port") == String(n1.port))
    }

    /// An agent that does not answer at start: exit 2, naming it, before anything is created.
    @Test func anUnreachableAgentAtStartIsBadInput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-agents-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a1 = try Agent(dir, "h1")
        defer { a1.server.stop() }
        let n1 = try RedisServer.started()
        defer { n1.stop() }
        let n2 = try RedisServer.startedReplica(of: n1), n3 = try RedisServer.startedReplica(of: n1)
        defer { n2.stop(); n3.stop() }
        let reservation = PortReservation()
        let nobody = reservation.reserve()
        reservation.release()
        _ = try tokenFile(dir, "h2.token", "whatever")
        let scenario = try files(dir, agentPorts: (a1.port, nobody), n1: n1, n2: n2, n3: n3, timeline: "  - {at: 1s, partition: [[n1], [n2, n3]]}\n  - {at: 2s, heal: {}}")
        let r = try RiftExecutable.run(["run", scenario, "--out", dir + "/run"], timeout: .seconds(60))
        #expect(r.status == 2, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stderr.contains("agent h2 (http://127.0.0.1:\(nobody))"), "\(r.stderr)")
        #expect(try a1.proxies().isEmpty)
    }
}
