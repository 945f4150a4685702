import ArgumentParser
import Dispatch
import Foundation
import Rift
import RiftRecord
import Synchronization

/// `rift record`: parse the options, open the capture, call RiftRecord, say what it found.
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Turn live or saved Redis/memcached traffic into a Rift history for `rift check`.",
        discussion: """
            Captures TCP traffic to one server port with libpcap (live on --interface, or from a \
            saved --pcap file), reassembles each connection, pairs requests with replies (also \
            pipelined ones) and writes a history: one process per connection; GET/SET/DEL \
            (get/set/delete, mg/ms/md for memcached) as read/write/delete of a register, with the \
            capture's timestamps. Other commands are paired and left out.

            Live capture needs root or CAP_NET_RAW. It stops after --duration, after --count \
            packets, or on SIGINT/SIGTERM. Exit status: 0 recorded, 2 bad input or no permission.

            Examples:
              rift record --interface lo --port 6379 --duration 30s -o history.jsonl
              rift record --pcap rift.pcap --port 26379 -o history.jsonl && \\
                rift check history.jsonl
              rift record --interface eth0 --protocol memcached --count 100000 -o mc.jsonl
            """)

    @Option(name: .long, help: "Capture live on this interface (e.g. lo, eth0, any).")
    var interface: String?

    @Option(name: .long, help: "Read this pcap or pcapng file instead of capturing live.")
    var pcap: String?

    @Option(name: .long, help: "The server's TCP port (default: 6379 for resp, 11211 for memcached).")
    var port: UInt16?

    @Option(name: .customLong("protocol"), help: "resp or memcached.")
    var proto: String = "resp"

    @Option(name: .long, help: "Stop a live capture after this long (e.g. 30s).")
    var duration: String?

    @Option(name: .long, help: "Stop after this many packets.")
    var count: Int?

    @Option(name: [.short, .long], help: "The history file to write (JSON Lines).")
    var output: String

    func run() async throws {
        guard let recordProtocol = RecordProtocol(rawValue: proto) else {
            throw CLIFailure.badInput("--protocol \(proto): expected resp or memcached")
        }
        let durationNs: Int64?
        do { durationNs = try duration.map { try DurationParser.nanoseconds($0) } } catch {
            throw CLIFailure.badInput("--duration: \(error)")
        }
        if let count, count < 1 { throw CLIFailure.badInput("--count \(count): must be at least 1") }
        if port == 0 { throw CLIFailure.badInput("--port 0: give the server's port") }
        let serverPort = port ?? (recordProtocol == .resp ? 6379 : 11211)
        let source: PcapSource
        do {
            switch (interface, pcap) {
            case (let i?, nil): source = try PcapSource(interface: i, port: serverPort)
            case (nil, let p?): source = try PcapSource(file: p)
            default: throw CLIFailure.badInput("give exactly one of --interface IFACE (live) or --pcap FILE (saved)")
            }
        } catch let failure as PcapSource.Failure {
            throw CLIFailure.badInput(failure.description)
        }
        let writer: HistoryWriter
        do {
            writer = try HistoryWriter(path: output, metadata: [
                "source": .string("rift record"), "protocol": .string(recordProtocol.rawValue), "port": .int(Int64(serverPort)),
            ])
        } catch {
            throw CLIFailure.badInput("-o \(error)")
        }
        let stop = StopFlag()
        if interface != nil { Task { _ = await SignalWaiter.wait(for: [SIGINT, SIGTERM]); stop.set() } }
        if interface != nil { say("rift record: capturing tcp port \(serverPort) on \(interface!) (SIGINT stops)") }
        let summary: TrafficRecorder.Summary
        do {
            summary = try RecordRun.run(
                source: source, options: TrafficRecorder.Options(port: serverPort, protocol: recordProtocol), output: writer,
                limits: RecordRun.Limits(durationNs: durationNs, maxPackets: count), shouldStop: stop.isSet)
        } catch let failure as PcapSource.Failure {
            throw CLIFailure.badInput("\(pcap ?? interface ?? ""): \(failure.description)")
        } catch let failure as HistoryWriter.Failure {
            throw CLIFailure.failed("-o \(failure.description)")
        }
        say("rift record: \(summary.packets) packets, \(summary.connections) connections, \(summary.operations) operations, \(summary.events) events -> \(output)")
        if summary.skippedConnections > 0 { say("rift record: \(summary.skippedConnections) connections over the limit were skipped") }
        if interface != nil, source.droppedByKernel > 0 {
            say("rift record: the kernel dropped \(source.droppedByKernel) packets; their connections may be incomplete")
        }
        for problem in summary.problems.prefix(20) { say("rift record: not followed to the end: \(problem)") }
    }
}

/// Set once from a signal task, read by the capture loop.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    func isSet() -> Bool { value.load(ordering: .relaxed) }
}
