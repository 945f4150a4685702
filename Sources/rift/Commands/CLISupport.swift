import ArgumentParser
import Dispatch
import Foundation
import Rift
import Synchronization

/// Errors the CLI reports on one line with exit status 2 (bad input) or 1 (failure).
enum CLIFailure: Error, CustomStringConvertible {
    case badInput(String)
    case failed(String)

    var description: String {
        switch self {
        case .badInput(let message), .failed(let message): return message
        }
    }

    var exitCode: Int32 {
        switch self {
        case .badInput: return 2
        case .failed: return 1
        }
    }
}

/// Waits for the first of some signals without letting them kill the process.
enum SignalWaiter {
    static func wait(for signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let fired = SignalOnce(continuation)
            for number in signals { fired.watch(number) }
        }
    }

    private final class SignalOnce: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Int32, Never>?
            var sources: [DispatchSourceSignal] = []
        }
        private let state: Mutex<State>
        init(_ continuation: CheckedContinuation<Int32, Never>) { state = Mutex(State(continuation: continuation)) }

        /// Ignores `number` and fires on it instead; the source lives as long as this object.
        func watch(_ number: Int32) {
            signal(number, SIG_IGN)
            state.withLock { s in
                // Made inside the lock: a source (not Sendable) can only move into the state from here.
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { self.fire(number) }
                source.resume()
                s.sources.append(source)
            }
        }

        func fire(_ number: Int32) {
            let c = state.withLock { s -> CheckedContinuation<Int32, Never>? in
                defer { s.continuation = nil }
                return s.continuation
            }
            c?.resume(returning: number)
        }
    }
}

/// The proxies as a readable table.
enum ProxyTable {
    static func render(_ proxies: [Proxy.Snapshot]) -> String {
        var rows = [["NAME", "LISTEN", "UPSTREAM", "LINK", "STATE", "CONNS", "TOXICS"]]
        for p in proxies {
            let link = p.config.from.map { "\($0) -> \(p.config.to ?? "?")" } ?? "-"
            let state = !p.config.enabled ? "disabled" : (p.listening ? "listening" : "down")
            let toxics = (p.faults + p.partitionFaults).map { "\($0.name)(\($0.type) \($0.stream.rawValue))" }
            rows.append([p.config.name, p.listen, p.config.upstream, link, state, String(p.openConnections),
                         toxics.isEmpty ? "-" : toxics.joined(separator: ", ")])
        }
        return TextTable.render(rows)
    }
}

enum TextTable {
    /// Left-aligned columns separated by two spaces; the first row is the header.
    static func render(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Writes a line to stdout unbuffered, so that progress shows at once even through a pipe.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
