import Glibc
import RiftTestSupport
import Testing

@Suite struct FreePortTests {
    @Test func allocatedPortCanBeBoundAndIsNotPrivileged() throws {
        let port = FreePort.allocate()
        #expect(port >= 1024)
        let listener = try BlockingListener(port: port)
        #expect(listener.port == port)
        listener.close()
    }

    @Test func nothingListensOnAnAllocatedPort() {
        #expect(throws: SocketError.connectionRefused) {
            _ = try BlockingSocket(port: FreePort.allocate())
        }
    }
}
