import Foundation
import RiftTestSupport

/// A line echo server on a free loopback port: every line comes back prefixed with the
/// server's tag, so a test can tell which upstream a proxy really dialled. Each connection
/// is served by its own thread; `stop` stops accepting (served connections end with their
/// clients).
final class TaggedEchoServer: Sendable {
    let tag: String
    let port: UInt16
    private let listener: BlockingListener

    init(tag: String) throws {
        self.tag = tag
        listener = try BlockingListener()
        port = listener.port
        Self.acceptNext(listener, tag: tag)
    }

    /// One thread per connection: it accepts one, starts the next acceptor, then serves its
    /// own (so no socket crosses threads).
    private static func acceptNext(_ listener: BlockingListener, tag: String) {
        let thread = Thread {
            let socket: BlockingSocket
            do {
                socket = try listener.accept(timeout: .seconds(3600), readTimeout: .seconds(120), writeTimeout: .seconds(10))
            } catch {
                return  // stopped
            }
            acceptNext(listener, tag: tag)
            serve(socket, tag: Array((tag + " ").utf8))
        }
        thread.start()
    }

    private static func serve(_ socket: BlockingSocket, tag: [UInt8]) {
        var pending: [UInt8] = []
        while true {
            guard let chunk = try? socket.receive() else { break }
            pending.append(contentsOf: chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[...newline])
                pending.removeFirst(newline + 1)
                guard (try? socket.send(tag + line)) != nil else {
                    socket.close()
                    return
                }
            }
        }
        socket.close()
    }

    func stop() { listener.close() }
}
