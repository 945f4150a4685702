import Foundation
import RiftTestSupport
import Testing

/// Toxiproxy's own Python client (`toxiproxy-python`, installed by ci/setup) drives a real
/// `rift server` in front of a real redis-server, unchanged.
@Suite struct ToxiproxyPythonClientTests {
    static let python = ["/usr/bin/env", "python3"]

    static var clientInstalled: Bool {
        (try? Processes.run("/usr/bin/env", ["python3", "-c", "import toxiproxy"]).status) == 0
    }

    static let script = #"""
        import socket, sys, time
        from toxiproxy import Toxiproxy

        api_host, api_port, redis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        server = Toxiproxy()
        server.update_api_consumer(api_host, api_port)
        assert server.running(), "server not running"
        assert b"version" in server.version()

        def ping(port):
            start = time.monotonic()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"PING\r\n")
                reply = s.recv(64)
            assert reply.startswith(b"+PONG"), reply
            return time.monotonic() - start

        def refused(port):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(64) == b""
            except OSError:
                return True

        proxy = server.create(upstream="127.0.0.1:%d" % redis_port, name="redis", listen="127.0.0.1:0")
        port = int(proxy.listen.rsplit(":", 1)[1])
        assert port != 0
        assert "redis" in server.proxies()
        base = ping(port)

        proxy.add_toxic(type="latency", attributes={"latency": 300})
        toxics = proxy.toxics()
        assert list(toxics) == ["latency_downstream"], toxics
        assert toxics["latency_downstream"].attributes["latency"] == 300
        slow = ping(port)
        assert slow >= 0.3, slow

        with proxy.down():
            assert refused(port), "a disabled proxy accepted a connection"
            assert server.get_proxy("redis").enabled is False
        assert server.get_proxy("redis").enabled is True
        assert ping(port) >= 0.3

        proxy.destroy_toxic("latency_downstream")
        assert proxy.toxics() == {}
        fast = ping(port)
        assert fast < 0.3, fast

        proxy.add_toxic(type="latency", stream="upstream", attributes={"latency": 50})
        proxy.disable()
        assert server.reset()
        assert server.get_proxy("redis").enabled is True
        assert proxy.toxics() == {}
        ping(port)

        populated = server.populate([{"name": "redis", "upstream": "127.0.0.1:%d" % redis_port, "listen": proxy.listen}])
        assert populated == [], populated
        server.destroy_all()
        assert server.proxies() == {}
        print("toxiproxy-python: ok (base %.1f ms, with latency %.1f ms)" % (base * 1000, slow * 1000))
        """#

    @Test(.enabled(if: clientInstalled, "toxiproxy-python is not installed (run ci/setup)"))
    func toxiproxyPythonDrivesRift() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let server = try RiftServerProcess()
        defer { server.stop() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rift-toxiproxy-\(UUID().uuidString).py").path
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let hostPort = server.url.replacingOccurrences(of: "http://", with: "").split(separator: ":")
        let r = try Processes.run("/usr/bin/env", ["python3", path, String(hostPort[0]), String(hostPort[1]), String(redis.port)])
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("toxiproxy-python: ok"))
    }
}
