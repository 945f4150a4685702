import Foundation
import RiftFaults
import Synchronization

/// The link proxies an external fleet keeps on its hosts' agents: each node-to-node link on
/// the agent of the host it leaves from (a replica's `n2-to-n1` on n2's host). What was
/// created and every fault added are recorded before the request is sent, so the end of a run
/// removes all of it, and names what may remain on an agent that stopped answering.
///
/// An agent that gives no answer once is taken as gone: later requests to it are not sent (a
/// heal does not wait out its timeout again), and the run's verdict is unknown.
public final class AgentLinks: Sendable {
    /// Link proxy name to its agent, from the topology (`hosts:` and each node's `host:`).
    let placement: [String: AgentHost]
    private struct Placed {
        var port: UInt16?
        var faults: [String] = []
    }
    private struct State {
        var placed: [String: Placed] = [:]
        /// Agent name to what it did not answer.
        var gone: [String: AgentError] = [:]
    }
    private let state = Mutex(State())

    init(placement: [String: AgentHost]) {
        self.placement = placement
    }

    var agents: [AgentHost] {
        var seen: Set<String> = []
        return placement.keys.sorted().compactMap { placement[$0] }.filter { seen.insert($0.name).inserted }
    }

    /// Every agent answers `GET /version` with its token; else a bad-input error naming it
    /// (`rift run` exits 2), before anything is created anywhere.
    func checkReachable() throws {
        for agent in agents {
            do { try AgentClient(agent).version() } catch {
                throw FleetError("\(error): is `rift server --api ... --token FILE` running there, with this token?", isBadInput: true)
            }
        }
    }

    /// Creates `link`'s proxy on its agent, listening on the agent's host; returns its port.
    func create(link: String, upstream: String) throws -> UInt16 {
        guard let agent = placement[link] else { throw FleetError("no agent holds \(link)") }
        // Recorded first: a lost answer still leaves the proxy to delete.
        state.withLock { $0.placed[link] = Placed() }
        let port = try call(agent) { try $0.createProxy(name: link, upstream: upstream) }
        state.withLock { $0.placed[link]?.port = port }
        return port
    }

    /// The port of a link proxy on an agent; nil for a link that is not on one.
    func port(of link: String) -> UInt16? { state.withLock { $0.placed[link]?.port } }

    /// Where `link` listens: its agent's host.
    func host(of link: String) -> String? { placement[link]?.host }

    /// Whether `link` is on an agent and carries no fault Rift added; nil for a local link.
    func isClear(_ link: String) -> Bool? {
        guard placement[link] != nil else { return nil }
        return state.withLock { $0.placed[link]?.faults.isEmpty ?? true }
    }

    func addFault(_ fault: Fault, link: String) throws {
        guard let agent = placement[link] else { throw FleetError("no agent holds \(link)") }
        state.withLock { $0.placed[link, default: Placed()].faults.append(fault.name) }
        try call(agent) { try $0.addFault(fault, proxy: link) }
    }

    /// Removes a fault; on an agent that is gone it stays listed as what may remain there.
    func removeFault(named name: String, link: String) throws {
        guard let agent = placement[link] else { throw FleetError("no agent holds \(link)") }
        try call(agent) { try $0.removeFault(name, proxy: link) }
        state.withLock { $0.placed[link]?.faults.removeAll { $0 == name } }
    }

    /// The first agent found silent (by an earlier request, or now by `GET /version`), as an
    /// error naming it.
    func firstSilent() -> AgentError? {
        if let first = state.withLock({ $0.gone.min { $0.key < $1.key } }) { return first.value }
        for agent in agents {
            do { try call(agent) { try $0.version() } } catch let e as AgentError { return e } catch { continue }
        }
        return nil
    }

    /// Deletes every proxy Rift created on the agents that answer (their faults go with them).
    func removeAll() {
        let links = state.withLock { Array($0.placed.keys).sorted() }
        for link in links {
            guard let agent = placement[link] else { continue }
            do {
                try call(agent) { try $0.deleteProxy(link) }
                state.withLock { _ = $0.placed.removeValue(forKey: link) }
            } catch {
                continue
            }
        }
    }

    /// One line per agent that stopped answering: what it did not answer, and what Rift
    /// created there that may remain (proxies with their faults).
    var failures: [String] {
        state.withLock { s in
            s.gone.keys.sorted().map { name in
                let left = s.placed.keys.sorted().filter { placement[$0]?.name == name }.map { link in
                    let faults = s.placed[link]!.faults
                    return "proxy \(link)" + (faults.isEmpty ? "" : " with faults \(faults.joined(separator: ", "))")
                }
                return "\(s.gone[name]!)" + (left.isEmpty ? "" : "; may remain on it: " + left.joined(separator: "; "))
            }
        }
    }

    /// Runs one request unless the agent is gone; an agent that gives no answer becomes gone.
    private func call<T>(_ agent: AgentHost, _ body: (AgentClient) throws -> T) throws -> T {
        if let why = state.withLock({ $0.gone[agent.name] }) {
            throw AgentError(agent: agent.label, message: "not asked: it stopped answering earlier (\(why.message))", unreachable: true)
        }
        do { return try body(AgentClient(agent)) } catch let error as AgentError {
            if error.unreachable { state.withLock { $0.gone[agent.name] = error } }
            throw error
        }
    }
}
