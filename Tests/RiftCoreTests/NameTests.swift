import RiftCore
import Testing

@Suite struct NameTests {
    @Test(arguments: ["redis", "n1", "redis-primary_2", "p.1", "partition:p1:upstream"])
    func accepts(_ name: String) throws { try RiftName.validate(name) }

    @Test(arguments: ["", "a b", "a/b", "é", String(repeating: "x", count: 129)])
    func rejects(_ name: String) {
        #expect(throws: RiftName.Invalid.self) { try RiftName.validate(name) }
    }
}
