import Foundation
import Glibc
import RiftChecker
import RiftClient
import RiftCore
import Testing

@testable import RiftHarness

/// A twemproxy fleet on real nutcracker and memcached: nutcracker serves every key through the
/// proxies, sees a cut on a node's link, ejects that node only when `auto_eject_hosts` says so,
/// and stops with the fleet.
@Suite struct TwemproxyTests {
    static let keys = (0..<12).map { "r\($0)" }

    /// The shipped topology's settings, but a retry timeout long enough that an ejected node
    /// stays out for the whole test.
    static func fleet(autoEject: Bool, directory: String) throws -> Fleet {
        let topology = try ScenarioParser.parseTopology("""
            name: tw
            kind: twemproxy
            nodes:
              - name: n1
              - name: n2
              - name: n3
            hash: md5
            auto_eject_hosts: \(autoEject)
            server_failure_limit: 2
            server_retry_timeout: 30s
            timeout: 500ms
            """, file: "t.yaml")
        return try Fleet(topology: topology, directory: directory, seed: 1)
    }

    /// nutcracker's pid, from its log's first line (`... started on pid 1234`).
    static func nutcrackerPid(_ directory: String) throws -> Int32 {
        let log = try String(contentsOfFile: directory + "/twemproxy/nutcracker.log", encoding: .utf8)
        let line = try #require(log.split(separator: "\n").first { $0.contains("started on pid ") })
        return try #require(Int32(line.split(separator: " ").last!))
    }

    @Test(arguments: [true, false])
    func aCutNodeIsSeenByNutcrackerAndEjectedOnlyWithAutoEject(autoEject: Bool) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-twemproxy-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fleet = try Self.fleet(autoEject: autoEject, directory: dir)
        do {
            try await fleet.start()
            let client = TwemproxyClient(target: try fleet.target("twemproxy"))
            defer { client.close() }
            let deadline = { monotonicNs() + 2_000_000_000 }
            let route = CacheRoute(target: client.target)
            for k in Self.keys {
                #expect(try client.store(k, "v-\(k)", ttlSeconds: 0, .set, via: route, deadlineNs: deadline()).0 == .done)
                #expect(try client.get(k, via: route, deadlineNs: deadline()).0 == .hit(Array("v-\(k)".utf8)))
            }
            // Each key is on one node, written there through nutcracker's link to it.
            var onNode: [String: Set<String>] = [:]
            for n in ["n1", "n2", "n3"] {
                let direct = MemcachedClient(reconnectingTo: try #require(fleet.port(of: n)))
                defer { direct.close() }
                onNode[n] = Set(try Self.keys.filter { try direct.get($0, deadlineNs: deadline()) != nil })
            }
            #expect(onNode.values.map(\.count).reduce(0, +) == Self.keys.count && onNode.values.allSatisfy { !$0.isEmpty }, "\(onNode)")
            let before = try #require(try fleet.servers.scrapeStats(deadlineNs: deadline()))
            #expect(before.ejections == 0)
            #expect(before.servers.keys.sorted() == ["n1", "n2", "n3"])
            #expect(before.servers.values.allSatisfy { $0.requests > 0 && $0.errors == 0 }, "\(before)")

            // Cut n2 from nutcracker; the clients still reach nutcracker.
            _ = try await fleet.proxies.partition(groups: [["client", "twemproxy", "n1", "n3"], ["n2"]], mode: .refuse)
            let n2Keys = try #require(onNode["n2"])
            var reads: [String: CacheRead] = [:]
            let until = monotonicNs() + 5_000_000_000
            repeat {
                for k in Self.keys { reads[k] = try client.get(k, via: route, deadlineNs: deadline()).0 }
            } while autoEject && n2Keys.contains(where: { reads[$0] != .miss }) && monotonicNs() < until
            // Other nodes' keys are unaffected.
            for k in Self.keys where !n2Keys.contains(k) { #expect(reads[k] == .hit(Array("v-\(k)".utf8)), "\(k)") }
            let after = try #require(try fleet.servers.scrapeStats(deadlineNs: deadline()))
            let n2 = try #require(after.servers["n2"])
            #expect(n2.errors > 0, "\(after)")
            if autoEject {
                // Ejected: n2's keys rehash to n1 and n3, which do not hold them.
                #expect(n2Keys.allSatisfy { reads[$0] == .miss }, "\(reads)")
                #expect(after.ejections >= 1 && n2.lastEjectedAtUs != nil, "\(after)")
            } else {
                #expect(n2Keys.allSatisfy { if case .refused(let e) = reads[$0] { e.hasPrefix("SERVER_ERROR") } else { false } }, "\(reads)")
                #expect(after.ejections == 0 && n2.lastEjectedAtUs == nil, "\(after)")
            }
        } catch {
            await fleet.stop()
            throw error
        }
        let pid = try Self.nutcrackerPid(dir)
        #expect(kill(pid, 0) == 0)
        await fleet.stop()
        #expect(kill(pid, 0) != 0, "nutcracker \(pid) still runs after stop")
        #expect(FileManager.default.fileExists(atPath: dir + "/twemproxy/nutcracker.yml"))
    }
}
