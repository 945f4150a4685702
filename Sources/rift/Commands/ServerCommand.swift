import ArgumentParser
import Foundation
import Rift

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the fault proxies of a config file until SIGINT or SIGTERM.",
        discussion: """
            The config file (YAML or JSON) lists proxies and their initial faults:

              seed: 42
              proxies:
                - name: redis-n1
                  listen: 127.0.0.1:26379
                  upstream: 127.0.0.1:6379
                  from: client
                  to: n1
                  toxics:
                    - type: latency
                      stream: downstream
                      attributes: { latency: 100, jitter: 10 }

            Toxiproxy's config (a JSON array of {name, listen, upstream}) also works.
            A bad file is reported with its line and field, and nothing starts (exit status 2).

            Examples:
              rift server --config faults/proxies.yaml
              rift server --config toxiproxy.json --seed 7
            """)

    @Option(name: .long, help: "A YAML or JSON file of proxies and initial faults.")
    var config: String?

    @Option(name: .long, help: "The run seed (toxicity, jitter, loss). Default: the file's seed, else random.")
    var seed: UInt64?

    func run() async throws {
        var file = ProxyConfigFile(entries: [])
        if let config {
            do {
                file = try ProxyConfigFile.load(path: config)
            } catch {
                throw CLIFailure.badInput("\(error)")
            }
        }
        let runSeed = seed ?? file.seed ?? UInt64.random(in: 0...UInt64.max)
        let server = ProxyServer(seed: runSeed)
        do {
            try await server.start(file)
        } catch {
            await server.shutdown()
            throw CLIFailure.badInput("\(config ?? "rift server"): \(error)")
        }
        say("rift server: \(server.proxies.count) proxies, seed \(runSeed)")
        say(ProxyTable.render(server.proxies.map(\.snapshot)))
        let signal = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        say("rift server: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), closing every listener and connection")
        await server.shutdown()
    }
}
