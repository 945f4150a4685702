import Foundation
import RiftTestSupport
import Testing
@testable import RiftControl

/// The built `rift` binary against a real `rift server` and real redis-server processes.
@Suite(.serialized) struct CLITests {
    @Test func partitionFromTheCLICutsAndHealsRealTraffic() async throws {
        let n1 = try RedisServer.started(), n2 = try RedisServer.started()
        defer { n1.stop(); n2.stop() }
        let server = try RiftServerProcess()
        defer { server.stop() }
        let api = ["--api", server.url]

        let add1 = try Processes.rift(["proxy", "add", "n2-n1", "--upstream", "127.0.0.1:\(n1.port)", "--from", "n2", "--to", "n1"] + api)
        #expect(add1.status == 0, "\(add1.stderr)")
        let add2 = try Processes.rift(["proxy", "add", "n1-n2", "--upstream", "127.0.0.1:\(n2.port)", "--from", "n1", "--to", "n2"] + api)
        #expect(add2.status == 0, "\(add2.stderr)")
        let link = try #require(try proxyPort(server.url, "n2-n1"))
        let back = try #require(try proxyPort(server.url, "n1-n2"))
        #expect(RedisPing.ping(port: link, timeoutMs: 2000) == "+PONG")

        let cut = try Processes.rift(["partition", "n1", "--from", "n2", "--mode", "reset"] + api)
        #expect(cut.status == 0, "\(cut.stderr)")
        let id = try #require(cut.stdout.split(separator: ":").first.map(String.init))
        #expect(RedisPing.ping(port: link, timeoutMs: 2000) == nil)
        #expect(RedisPing.ping(port: back, timeoutMs: 2000) == nil)

        let status = try Processes.rift(["status"] + api)
        #expect(status.status == 0)
        #expect(status.stdout.contains(id) && status.stdout.contains("[n1] | [n2]"), "\(status.stdout)")

        let heal = try Processes.rift(["heal", id] + api)
        #expect(heal.status == 0, "\(heal.stderr)")
        #expect(RedisPing.ping(port: link, timeoutMs: 2000) == "+PONG")
        #expect(RedisPing.ping(port: back, timeoutMs: 2000) == "+PONG")

        // One way, blackhole, healed by time: n1's traffic to n2 stops; n2 still reaches n1.
        let timed = try Processes.rift(["partition", "n1", "--from", "n2", "--one-way", "--for", "1s"] + api)
        #expect(timed.status == 0, "\(timed.stderr)")
        #expect(RedisPing.ping(port: back, timeoutMs: 300) == nil)
        #expect(RedisPing.ping(port: link, timeoutMs: 2000) == "+PONG")
        let healed = await eventually(timeout: .seconds(10)) { RedisPing.ping(port: back, timeoutMs: 300) == "+PONG" }
        #expect(healed)

        // The timed heal is logged once it has applied, which may be just after traffic flows.
        let eventsPath = server.eventsPath
        let logged = await eventually(timeout: .seconds(5)) {
            ((try? String(contentsOfFile: eventsPath, encoding: .utf8)) ?? "").split(separator: "\n").count >= 6
        }
        #expect(logged)
        let events = try String(contentsOfFile: server.eventsPath, encoding: .utf8)
        #expect(events.split(separator: "\n").count >= 6, "\(events)")
        #expect(events.contains(#""kind":"partition.heal""#))
    }

    @Test func faultCommandsAndReset() async throws {
        let n1 = try RedisServer.started()
        defer { n1.stop() }
        let server = try RiftServerProcess()
        defer { server.stop() }
        let api = ["--api", server.url]
        #expect(try Processes.rift(["proxy", "add", "r", "--upstream", "127.0.0.1:\(n1.port)"] + api).status == 0)
        let add = try Processes.rift(["fault", "add", "r", "latency", "latency=100ms", "jitter=0", "--stream", "both"] + api)
        #expect(add.status == 0, "\(add.stderr)")
        let list = try Processes.rift(["fault", "list", "r"] + api)
        #expect(list.stdout.contains("latency_upstream") && list.stdout.contains("latency_downstream"), "\(list.stdout)")
        #expect(list.stdout.contains("latency=100"))
        let update = try Processes.rift(["fault", "update", "r", "latency_upstream", "latency=5"] + api)
        #expect(update.status == 0, "\(update.stderr)")
        #expect(try Processes.rift(["fault", "rm", "r", "latency_upstream"] + api).status == 0)
        #expect(try Processes.rift(["proxy", "disable", "r"] + api).status == 0)
        let shown = try Processes.rift(["proxy", "show", "r"] + api)
        #expect(shown.stdout.contains(#""enabled" : false"#), "\(shown.stdout)")
        #expect(try Processes.rift(["reset"] + api).status == 0)
        let after = try Processes.rift(["proxy", "list"] + api)
        #expect(after.stdout.contains("yes") && !after.stdout.contains(" no "), "\(after.stdout)")
        #expect(try Processes.rift(["fault", "list"] + api).stdout.contains("no faults"))
        #expect(try Processes.rift(["proxy", "rm", "r"] + api).status == 0)
    }

    @Test func badArgumentsExit2WithOneLine() throws {
        let cases: [[String]] = [
            ["fault", "add", "r", "latency", "--for", "10"],
            ["fault", "add", "r", "latency", "novalue"],
            ["partition", "n1", "--mode", "melt"],
            ["proxy", "add", "x", "--upstream", "127.0.0.1:1", "--from", "a"],
            ["server", "--api", "0.0.0.0:0"],
            ["proxy", "list", "--api", "::not a url"],
        ]
        for arguments in cases {
            let r = try Processes.rift(arguments + (arguments.contains("--api") ? [] : ["--api", "http://127.0.0.1:1"]))
            #expect(r.status == 2, "\(arguments): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count == 1, "\(arguments): \(r.stderr)")
        }
        // ArgumentParser's own errors (a missing option) also exit 2 and say what is missing first.
        let missing = try Processes.rift(["proxy", "add", "x"])
        #expect(missing.status == 2)
        #expect(missing.stderr.split(separator: "\n").first?.contains("--upstream") == true, "\(missing.stderr)")
    }

    @Test func unreachableServerNamesTheURL() throws {
        let port = Processes.freePort()
        let r = try Processes.rift(["status"], environment: ["RIFT_API": "http://127.0.0.1:\(port)"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("http://127.0.0.1:\(port)"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func serverErrorsComeBackInOneLineWithExit2() throws {
        let server = try RiftServerProcess()
        defer { server.stop() }
        let r = try Processes.rift(["fault", "rm", "nope", "x", "--api", server.url])
        #expect(r.status == 2)
        #expect(r.stderr.contains("proxy not found"), "\(r.stderr)")
    }

    private func proxyPort(_ url: String, _ name: String) throws -> Int? {
        let r = try Processes.rift(["proxy", "show", name, "--api", url])
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(r.stdout.utf8)),
              case .string(let listen)? = json["listen"] else { return nil }
        return listen.split(separator: ":").last.flatMap { Int($0) }
    }
}
