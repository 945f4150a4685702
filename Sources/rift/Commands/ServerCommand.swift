import ArgumentParser
import Foundation
import Rift
import RiftCapture
import RiftControl

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

            Toxiproxy's config (a JSON array of {name, listen, upstream}) also works. \
            A bad file is reported with its line and field, and nothing starts (exit status 2).

            The HTTP API (Toxiproxy-compatible, plus /rift/partitions and /rift/events) listens \
            on --api, loopback by default. Any other address needs --token FILE, and every \
            request must then send "Authorization: Bearer <token>".

            Examples:
              rift server --config faults/proxies.yaml
              rift server --config toxiproxy.json --seed 7
              rift server --api 127.0.0.1:0 --events faults.jsonl
              rift server --api 0.0.0.0:8474 --token /etc/rift/token
              rift server --config proxies.yaml --pcap rift.pcap --pcap-rotate-bytes 100MB

            toxiproxy-server's flags work too, with one dash, as -flag value or -flag=value:
            -host H, -port P (the API on H:P; defaults localhost and 8474), -config FILE, -seed N, \
            and -proxy-metrics, -runtime-metrics (accepted; /metrics is always served). As with \
            toxiproxy-server, -host off loopback without --token serves the API to anyone who can \
            reach it; rift warns on stderr.
              rift server -host=0.0.0.0 -config=/tmp/tc-toxiproxy.json
              rift -host 0.0.0.0 -port 8474     (the same: `server` is implied)
            """)

    @Option(name: .long, help: "A YAML or JSON file of proxies and initial faults.")
    var config: String?

    @Option(name: .long, help: "The run seed (toxicity, jitter, loss). Default: the file's seed, else random.")
    var seed: UInt64?

    @Option(name: .long, help: "Threads for the data path: relay threads for fault-free connections, and as many event loop threads for the rest (default: one per core).")
    var threads: Int?

    @Flag(name: .long, help: "Give every connection a SwiftNIO pipeline, also with no fault (slower; for comparison).")
    var noRelay = false

    @Option(name: .customLong("api"), help: "The API's HOST:PORT (port 0 picks a free one), or 'none'. (default: 127.0.0.1:8474)")
    var apiOption: String?

    @Option(name: .customLong("host"), help: "toxiproxy-server's -host: the API's host (with -port, instead of --api).")
    var toxiproxyHost: String?

    @Option(name: .customLong("port"), help: "toxiproxy-server's -port: the API's port (with -host, instead of --api).")
    var toxiproxyPort: Int?

    @Flag(name: .customLong("proxy-metrics"), help: "toxiproxy-server's flag, accepted: /metrics is always served.")
    var proxyMetrics = false

    @Flag(name: .customLong("runtime-metrics"), help: "toxiproxy-server's flag, accepted: /metrics is always served.")
    var runtimeMetrics = false

    /// The API address: --api, else toxiproxy-server's -host/-port (its defaults localhost:8474).
    private var api: String {
        if let apiOption { return apiOption }
        guard toxiproxyHost != nil || toxiproxyPort != nil else { return "127.0.0.1:8474" }
        var host = toxiproxyHost ?? "localhost"
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        return "\(host):\(toxiproxyPort ?? 8474)"
    }

    /// Started the way toxiproxy-server is, which serves its API on any host without a token.
    private var toxiproxyForm: Bool { apiOption == nil && toxiproxyHost != nil }

    @Option(name: .long, help: "Append every fault change to this JSONL file.")
    var events: String?

    @Option(name: .long, help: "A file holding the bearer token the API requires (needed off loopback).")
    var token: String?

    @OptionGroup var pcap: PcapOptions

    /// Checked in `run` so that the error is one line (exit 2), like every other bad input.
    private func checkAPIAddress() throws {
        if apiOption != nil && (toxiproxyHost != nil || toxiproxyPort != nil) {
            throw CLIFailure.badInput("--api \(apiOption ?? "") and -host/-port both set the API's address: give one of them")
        }
        guard api != "none" else { return }
        let host: String
        do { host = try AddressParser.split(api).host } catch {
            throw CLIFailure.badInput(apiOption == nil ? "-host/-port: \(error.description)" : "--api: \(error.description), or 'none'")
        }
        if !ControlServer.isLoopback(host) && token == nil && toxiproxyForm {
            FileHandle.standardError.write(Data("""
                rift: warning: -host \(host) without --token: the API on \(api) lets anyone who can reach it \
                drive the proxies, as toxiproxy-server's does; give --token FILE to require a bearer token

                """.utf8))
        } else if !ControlServer.isLoopback(host) && token == nil {
            throw CLIFailure.badInput("--api \(api) is not a loopback address: give --token FILE so that only holders of the token can drive the proxies")
        }
    }

    private func readToken() throws -> String? {
        guard let token else { return nil }
        guard let text = try? String(contentsOfFile: token, encoding: .utf8) else {
            throw CLIFailure.badInput("--token \(token): cannot read the file")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= 16 else {
            throw CLIFailure.badInput("--token \(token): the token is shorter than 16 characters; write a longer random one")
        }
        return trimmed
    }

    func run() async throws {
        try checkAPIAddress()
        let bearer = try readToken()
        let log: EventLog
        do { log = try EventLog(path: events) } catch {
            throw CLIFailure.badInput("--events \(events ?? ""): cannot open for appending: \(error.localizedDescription)")
        }
        var file = ProxyConfigFile(entries: [])
        if let config {
            do {
                file = try ProxyConfigFile.load(path: config)
            } catch {
                throw CLIFailure.badInput("\(error)")
            }
        }
        let runSeed = seed ?? file.seed ?? UInt64.random(in: 0...UInt64.max)
        if let threads, !(1...256).contains(threads) {
            throw CLIFailure.badInput("--threads \(threads) is out of range 1...256")
        }
        let capture = try pcap.open()
        let server = ProxyServer(
            seed: runSeed, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, capture: capture, relay: !noRelay)
        do {
            try await server.start(file)
        } catch {
            await server.shutdown()
            capture?.close()
            throw CLIFailure.badInput("\(config ?? "rift server"): \(error)")
        }
        let plane = ControlPlane(server: server, events: log)
        for proxy in server.proxies { log.record("proxy.create", proxy: proxy.name, detail: plane.proxyJSON(proxy)) }
        say("rift server: \(server.proxies.count) proxies, seed \(runSeed)")
        say(ProxyTable.render(server.proxies.map(\.snapshot)))
        var apiTask: Task<Void, Error>?
        if api != "none" {
            let (host, port) = try AddressParser.split(api)
            let app = ControlServer.application(plane: plane, host: host, port: port, token: bearer) { address in
                say("rift server: API on http://\(address)")
            }
            apiTask = Task { try await app.runService(gracefulShutdownSignals: []) }
        }
        // The first of a signal or the API failing (its port in use, say) ends the server.
        let (outcome, continuation) = AsyncStream<Int32?>.makeStream()
        Task { continuation.yield(await SignalWaiter.wait(for: [SIGINT, SIGTERM])) }
        if let apiTask {
            Task {
                if case .failure(let error) = await apiTask.result {
                    FileHandle.standardError.write(Data("rift: API on \(api): \(error)\n".utf8))
                }
                continuation.yield(nil)
            }
        }
        var first = outcome.makeAsyncIterator()
        let signal = await first.next() ?? nil
        // The API is not cancelled: cancelling Hummingbird's service logs spurious errors, and
        // the process ends right after the proxies close.
        plane.cancelAllTimers()
        if let signal {
            say("rift server: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), closing every listener and connection")
        }
        await server.shutdown()
        // Captures started through the API: write out what they hold.
        for proxy in server.proxies where proxy.capture !== capture { proxy.capture?.close() }
        if let capture { pcap.finish(capture, log: log) }
        if signal == nil { throw CLIFailure.failed("the API stopped; proxies closed") }
    }
}
