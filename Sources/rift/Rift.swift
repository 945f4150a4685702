import ArgumentParser
import Rift

@main
struct RiftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rift",
        abstract: "Chaos-injection fault proxy and history checker for cache fleets.",
        subcommands: [CheckCommand.self]
    )
}
