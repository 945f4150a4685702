import RiftCore
import RiftFaults
import Testing

@Suite struct DownStageTests {
    @Test func refusesNewConnectionsAndHasNoConnectionStage() throws {
        let down = try config(DownConfig.self)
        #expect(down.listenerEffect == .refuseNew)
        let env = FaultStageEnvironment(random: SeededRandom(seed: 1), direction: .downstream, connectionID: 1)
        #expect(down.makeHandler(env) == nil)
        #expect(down.attributes.isEmpty)
    }
}
