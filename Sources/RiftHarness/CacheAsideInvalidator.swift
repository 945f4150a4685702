import Foundation
import RiftClient
import RiftCore

/// One invalidator's subscription to the bus: a RESP2 connection through `invalidator-bus`,
/// subscribed to its families' channels, where changes arrive as `message` arrays (what a
/// `drop_frame` with `commands: message` matches). `@unchecked`: made on the starting thread,
/// then handed to its invalidator's thread, the only one that touches it from then on.
final class BusSubscriber: @unchecked Sendable {
    enum Read: Equatable {
        case message(channel: String, payload: String)
        /// Nothing came before the deadline (the connection stays).
        case quiet
    }

    let port: UInt16
    let families: [Int]
    private var client: RESPClient?

    /// Connects and subscribes; throws when the bus does not confirm within 10 s.
    init(port: UInt16, families: [Int]) throws(ClientError) {
        self.port = port
        self.families = families
        try connect(deadlineNs: monotonicNs() + 10_000_000_000)
    }

    /// A new connection, subscribed to every channel once this returns; on failure none is kept.
    func connect(deadlineNs: Int64) throws(ClientError) {
        close()
        // Kept after a timeout: a quiet channel must not cost the subscription.
        let c = try RESPClient(port: port, connectTimeout: .seconds(1))
        do throws(ClientError) {
            let channels = families.map { BusMessage.channel(family: $0) }
            try c.send([["SUBSCRIBE"] + channels], deadlineNs: deadlineNs)
            var confirmed = 0
            while confirmed < channels.count {
                guard case .array(let parts?) = try c.readReply(deadlineNs: deadlineNs), parts.first?.string == "subscribe" else {
                    throw .unexpectedReply("the bus did not confirm SUBSCRIBE")
                }
                confirmed += 1
            }
        } catch {
            c.close()
            throw error
        }
        client = c
    }

    /// The next message before `deadlineNs`; throws (and closes) when the connection failed.
    func next(deadlineNs: Int64) throws(ClientError) -> Read {
        guard let client else { throw .socket(.other(EBADF)) }
        let reply: RESPValue
        do {
            reply = try client.readReply(deadlineNs: deadlineNs)
        } catch .socket(.timedOut) {
            return .quiet
        } catch {
            close()
            throw error
        }
        guard case .array(let parts?) = reply, parts.count == 3, parts[0].string == "message", let channel = parts[1].string, let payload = parts[2].string else {
            close()
            throw .unexpectedReply("not a pub/sub message: \(reply)")
        }
        return .message(channel: channel, payload: payload)
    }

    func close() {
        client?.close()
        client = nil
    }
}

extension CacheAsideWorkload {
    /// One invalidator process, until the workload stops: applies each change read on its
    /// channels to the cache (deletes the key; sets it with `write_mode: update`; sets
    /// `<key>@ver` with versioned keys), feeds the lag detector, and while a family lags makes
    /// its fills use `shorten_ttl`. On entering lag, and on every gap (a lost change of an
    /// unknown key), it cuts the TTL of every entry of the family to `shorten_ttl`, so a stale
    /// entry left by a lost invalidation lives at most that long after the loss is found.
    func invalidate(_ subscriber: BusSubscriber, invalidator: Int) {
        let settings = options.invalidation
        var detector = InvalidationLagDetector(families: subscriber.families, maxLagNs: settings.maxLagNs, holdNs: settings.holdNs, startNs: monotonicNs())
        let client = Client(cache: clients(), originPort: originPort)
        defer {
            client.close()
            subscriber.close()
        }
        // Writes draw nothing from it; routing asks for one.
        var random = SeededRandom(seed: seed, labels: "cache-aside-invalidator", String(invalidator))
        while !isStopping {
            // Wake for the next possible silence, and often enough to see the workload stop.
            let read: BusSubscriber.Read
            do {
                read = try subscriber.next(deadlineNs: min(detector.nextSilenceNs, monotonicNs() + 100_000_000))
            } catch {
                // Changes published meanwhile are lost to this invalidator: the next message's
                // sequence number shows the gap.
                usleep(50_000)
                read = .quiet
                try? subscriber.connect(deadlineNs: monotonicNs() + spec.timeoutNs)
            }
            let now = monotonicNs()
            var evidence = detector.silences(nowNs: now).map { (family: $0.family, evidence: InvalidationLagDetector.Evidence.silent(forNs: $0.forNs)) }
            var change: (key: String, version: Int64)?
            if case .message(let channel, let payload) = read, let family = BusMessage.family(ofChannel: channel), let message = BusMessage(text: payload) {
                if let e = detector.observe(message, family: family, nowNs: now) { evidence.append((family, e)) }
                if case .change(_, _, let key, let version) = message { change = (key, version) }
            }
            for (family, e) in evidence {
                let until = detector.laggingUntil(family)
                let wasLagging = state.withLock { s -> Bool in
                    let was = s.shortTTLUntilNs[family] > now
                    s.shortTTLUntilNs[family] = max(s.shortTTLUntilNs[family], until)
                    return was
                }
                count {
                    switch e {
                    case .gap(let missed): $0.busMissed += Int(missed)
                    case .late: $0.busLate += 1
                    case .silent: $0.busSilences += 1
                    }
                }
                if e.isGap || !wasLagging { shorten(family, client: client, random: &random) }
            }
            if let change { apply(change.key, version: change.version, client: client, random: &random) }
        }
    }

    /// Cuts every cached entry of `family` to `shorten_ttl` (with versioned keys, `<key>@ver`:
    /// the data entries never change), when the remedy is on and shorter than the family's TTL.
    private func shorten(_ family: Int, client: Client, random: inout SeededRandom) {
        guard let short = options.invalidation.shortenTtlNs, options.ttlsNs[family] == 0 || short < options.ttlsNs[family] else { return }
        let seconds = CacheAsideSpec.memcachedSeconds(short)
        for i in stride(from: family, to: spec.keys, by: options.ttlsNs.count) {
            let key = Self.key(i)
            let deadline = monotonicNs() + spec.timeoutNs
            let target = client.cache.route(key, write: true, random: &random, deadlineNs: deadline)
            _ = try? client.cache.expire(options.versionedKeys ? Self.versionKey(key) : key, ttlSeconds: seconds, via: target, deadlineNs: deadline)
        }
        count { $0.ttlShortenings += 1 }
    }

    /// What a writer does to the cache after the origin, done by the invalidator for a change.
    private func apply(_ key: String, version: Int64, client: Client, random: inout SeededRandom) {
        guard let index = Self.index(ofKey: key), index < spec.keys else { return }
        let target = client.cache.route(key, write: true, random: &random, deadlineNs: monotonicNs() + spec.timeoutNs)
        let done = invalidate(key, index: index, version: version, on: target, client: client)
        client.cache.report(target, ok: done, atNs: monotonicNs())
    }
}
