import NIOCore
import NIOEmbedded
import RiftCore
import RiftFaults

/// One thing that reached the end of the pipeline, with the manual-clock time it arrived.
enum Arrival: Equatable, CustomStringConvertible {
    case data([UInt8])
    case inputClosed
    case inactive
    case directive(FaultDirective)

    var description: String {
        switch self {
        case .data(let bytes): return "data(\(bytes.count))"
        case .inputClosed: return "inputClosed"
        case .inactive: return "inactive"
        case .directive(let d): return "directive(\(d))"
        }
    }
}

/// Sits at the tail and records data, EOF, inactivity and directives in arrival order.
final class ArrivalRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private(set) var log: [(atMs: Double, arrival: Arrival)] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        log.append((Self.ms(context), .data(Array(buffer.readableBytesView))))
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let directive = event as? FaultDirective {
            log.append((Self.ms(context), .directive(directive)))
        } else if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            log.append((Self.ms(context), .inputClosed))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.append((Self.ms(context), .inactive))
        context.fireChannelInactive()
    }

    private static func ms(_ context: ChannelHandlerContext) -> Double {
        Double(context.eventLoop.now.uptimeNanoseconds) / 1e6
    }
}

/// Sits at the head and counts the `read()` calls that got past the stage.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

/// An EmbeddedChannel with `ReadCounter`, the stage under test (named "stage") and an
/// `ArrivalRecorder`, driven on the manual clock. Time starts at 0.
final class StageHarness {
    let channel = EmbeddedChannel()
    let recorder = ArrivalRecorder()
    let readCounter = ReadCounter()

    init(_ stage: any ChannelHandler & RemovableChannelHandler) throws {
        try channel.pipeline.syncOperations.addHandler(readCounter)
        try channel.pipeline.syncOperations.addHandler(stage, name: "stage")
        try channel.pipeline.syncOperations.addHandler(recorder)
    }

    convenience init<C: FaultStageConfig>(_ config: C, seed: UInt64 = 1, direction: StreamDirection = .downstream) throws {
        let env = FaultStageEnvironment(random: SeededRandom(seed: seed), direction: direction, connectionID: 1)
        guard let handler = config.makeHandler(env) else { throw HarnessError.noHandler }
        try self.init(handler)
    }

    enum HarnessError: Error { case noHandler }

    /// Milliseconds on the manual clock.
    var nowMs: Double { Double(channel.embeddedEventLoop.now.uptimeNanoseconds) / 1e6 }

    /// Writes one chunk into the stage. The recorder has the output, so the channel's own
    /// inbound buffer is drained (`writeInbound` copies it whole on every call).
    func write(_ bytes: [UInt8]) throws {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        while try channel.readInbound(as: ByteBuffer.self) != nil {}
    }
    func write(_ text: String) throws { try write(Array(text.utf8)) }
    func advance(ms: Int64) { channel.embeddedEventLoop.advanceTime(by: .milliseconds(ms)) }
    func advance(us: Int64) { channel.embeddedEventLoop.advanceTime(by: .microseconds(us)) }
    func advance(ns: Int64) { channel.embeddedEventLoop.advanceTime(by: .nanoseconds(ns)) }
    func inputClosed() { channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
    func inactive() { channel.pipeline.fireChannelInactive() }
    func read() { channel.pipeline.read() }
    func remove() throws { try channel.pipeline.syncOperations.removeHandler(name: "stage").wait() }

    var log: [(atMs: Double, arrival: Arrival)] { recorder.log }
    var arrivals: [Arrival] { recorder.log.map(\.arrival) }
    /// Every delivered byte, concatenated.
    var bytes: [UInt8] { recorder.log.flatMap { if case .data(let b) = $0.arrival { return b } else { return [] } } }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var directives: [FaultDirective] { recorder.log.compactMap { if case .directive(let d) = $0.arrival { return d } else { return nil } } }
    /// Sizes of delivered data pieces.
    var pieceSizes: [Int] { recorder.log.compactMap { if case .data(let b) = $0.arrival { return b.count } else { return nil } } }
    var reads: Int { readCounter.reads }
}

/// Deterministic test bytes: 0, 1, 2, ... 255, 0, ...
func pattern(_ count: Int, from start: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: start + $0) }
}

/// Everything the stage wrote toward the socket (for an upstream stage: the client) since the last call.
func outbound(_ h: StageHarness) throws -> String {
    var text = ""
    while let b = try h.channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: b) }
    return text
}

/// What the glue does with the server's replies: writes them toward the client, through the stage.
func serverReply(_ h: StageHarness, _ text: String) throws {
    try h.channel.writeOutbound(ByteBuffer(string: text))
}
