import RiftCore
import RiftFaults
import Testing

@Suite struct FaultRegistryTests {
    @Test func listsEveryStageOnceByWireName() {
        let names = FaultRegistry.types.map { $0.type }
        #expect(Set(names) == [
            "latency", "bandwidth", "slow_close", "slicer", "limit_data", "timeout", "reset_peer",
            "blackhole", "down", "loss", "packet_loss", "drop_frame", "delay_frame", "error_reply", "reorder", "replay",
        ])
        #expect(Set(names).count == names.count)
    }

    @Test(arguments: FaultRegistry.types.map { $0.type })
    func everyTypeHasDefaultsAndEchoesExactlyItsAttributes(name: String) throws {
        let type = try #require(FaultRegistry.type(named: name))
        let defaults = try FaultRegistry.makeConfig(type: name, attributes: [:], strict: true)
        #expect(Set(defaults.attributes.keys) == Set(type.attributeNames))
        // What the API echoes is accepted back, strictly, unchanged.
        let again = try FaultRegistry.makeConfig(type: name, attributes: defaults.attributes, strict: true)
        #expect(again.attributes == defaults.attributes)
    }

    @Test func typeNamesAreCaseInsensitive() throws {
        #expect(try FaultRegistry.makeConfig(type: "Slow_Close", attributes: ["delay": .int(5)], strict: true).attributes == ["delay": .int(5)])
    }

    @Test func unknownTypeIsRejectedNamingTheTypeField() {
        do {
            _ = try FaultRegistry.makeConfig(type: "tornado", attributes: [:], strict: false)
            Issue.record("accepted an unknown type")
        } catch {
            #expect(error.field == "type")
            #expect(error.reason.contains("tornado"))
        }
    }

    @Test func strictRejectsUnknownAttributesAndLenientIgnoresThem() throws {
        let attributes: FaultAttributes = ["rate": .int(10), "rtae": .int(5)]
        do {
            _ = try FaultRegistry.makeConfig(type: "bandwidth", attributes: attributes, strict: true)
            Issue.record("accepted a misspelt attribute in strict mode")
        } catch {
            #expect(error.field == "rtae")
        }
        let lenient = try FaultRegistry.makeConfig(type: "bandwidth", attributes: attributes, strict: false)
        #expect(lenient.attributes == ["rate": .int(10)])
    }

    @Test func invalidValuesNameTheFieldThroughTheRegistry() {
        let cases: [(String, FaultAttributes, String)] = [
            ("latency", ["jitter": .int(-1)], "jitter"),
            ("bandwidth", ["rate": .string("fast")], "rate"),
            ("slicer", ["average_size": .int(4), "size_variation": .int(8)], "size_variation"),
            ("loss", ["rate": .double(2)], "rate"),
            ("packet_loss", ["loss_rate": .bool(true)], "loss_rate"),
            ("timeout", ["timeout": .double(1.5)], "timeout"),
        ]
        for (type, attributes, field) in cases {
            do {
                _ = try FaultRegistry.makeConfig(type: type, attributes: attributes, strict: false)
                Issue.record("\(type) accepted \(attributes)")
            } catch {
                #expect(error.field == field, "\(type): \(error)")
            }
        }
    }

    @Test func onlyDownActsOnTheListener() {
        let env = FaultStageEnvironment(random: SeededRandom(seed: 1), direction: .upstream, connectionID: 7)
        for type in FaultRegistry.types {
            let config = try! type.init(attributes: [:])
            let isDown = type.type == "down"
            #expect(config.listenerEffect == (isDown ? .refuseNew : .none), "\(type.type)")
            #expect((config.makeHandler(env) == nil) == isDown, "\(type.type)")
        }
    }
}
