import NIOCore
import RiftCore

/// `latency`: every chunk of bytes waits `latency` ms, plus or minus `jitter` ms drawn from
/// `distribution`. Byte order is kept (a chunk never overtakes the one before it), so stacked
/// latency stages add up. EOF waits `latency` ms too, like a FIN on a slow link.
///
/// Distributions, as tc netem names them: `uniform` (Toxiproxy's: latency ± jitter evenly),
/// `normal` (jitter is the standard deviation), `pareto` (heavy tail, shape 3, scaled so that
/// jitter is the standard deviation), `paretonormal` (netem's mix: 1/4 normal, 3/4 pareto).
/// A sampled delay below zero becomes zero.
public struct LatencyConfig: FaultStageConfig {
    public static let type = "latency"
    public static let attributeNames = ["latency", "jitter", "distribution"]
    public static let distributions = ["uniform", "normal", "pareto", "paretonormal"]

    public var latencyMs: Int64
    public var jitterMs: Int64
    public var distribution: String

    public init(latencyMs: Int64, jitterMs: Int64 = 0, distribution: String = "uniform") {
        self.latencyMs = latencyMs
        self.jitterMs = jitterMs
        self.distribution = distribution
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        latencyMs = try r.int("latency", default: 0, range: 0...3_600_000)
        jitterMs = try r.int("jitter", default: 0, range: 0...3_600_000)
        distribution = try r.choice("distribution", default: "uniform", allowed: Self.distributions)
    }

    public var attributes: FaultAttributes {
        ["latency": .int(latencyMs), "jitter": .int(jitterMs), "distribution": .string(distribution)]
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: LatencyPolicy(config: self, random: environment.random))
    }
}

public struct LatencyPolicy: StagePolicy {
    public let config: LatencyConfig
    public var random: SeededRandom

    public init(config: LatencyConfig, random: SeededRandom) {
        self.config = config
        self.random = random
    }

    /// One delay sample in nanoseconds.
    public mutating func sampleNanoseconds() -> Int64 {
        let base = Double(config.latencyMs) * 1e6
        let jitter = Double(config.jitterMs) * 1e6
        guard jitter > 0 else { return Int64(base) }
        let offset: Double
        switch config.distribution {
        case "normal": offset = jitter * Distributions.standardNormal(&random)
        case "pareto": offset = jitter * Distributions.standardPareto(&random)
        case "paretonormal":
            offset = random.nextUnit() < 0.25
                ? jitter * Distributions.standardNormal(&random)
                : jitter * Distributions.standardPareto(&random)
        default: offset = jitter * (2 * random.nextUnit() - 1)
        }
        return Int64(max(0, base + offset))
    }

    public mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        actions.append(.pass(buffer, at: now + .nanoseconds(sampleNanoseconds())))
    }

    public mutating func endOfStreamRelease(now: NIODeadline) -> NIODeadline {
        now + .milliseconds(config.latencyMs)
    }
}

/// Samples with mean 0 and standard deviation 1, from a seeded source.
public enum Distributions {
    /// Box-Muller.
    public static func standardNormal(_ random: inout SeededRandom) -> Double {
        let u1 = max(random.nextUnit(), .leastNonzeroMagnitude)
        let u2 = random.nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Pareto with shape 3 (scale 1: mean 1.5, variance 0.75), centred and scaled to
    /// mean 0 and deviation 1. Heavy right tail, bounded left tail, as netem's table.
    public static func standardPareto(_ random: inout SeededRandom) -> Double {
        let u = max(1 - random.nextUnit(), .leastNonzeroMagnitude)
        let x = pow(u, -1.0 / 3.0)
        return (x - 1.5) / 0.75.squareRoot()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
