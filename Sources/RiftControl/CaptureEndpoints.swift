import RiftCapture
import RiftProxy

/// `/rift/proxies/{proxy}/pcap`: start (POST `{"path": "...", "rotate_bytes": N, "max_files": N}`),
/// show (GET) and stop (DELETE) a capture of one proxy's new connections, next to any
/// `--pcap` capture of the whole server (which the proxy returns to on DELETE).
/// Connections opened while a capture ran stay captured until it stops.
extension ControlPlane {
    public func startCapture(_ proxyName: String, _ body: JSONValue) throws(APIError) -> JSONValue {
        let proxy = try proxy(proxyName)
        let r = try BodyReader(body)
        let path = try r.requiredString("path")
        guard path.hasPrefix("/") else { throw APIError(.badRequest, "path must be absolute, got '\(path)'") }
        let rotate = try r.number("rotate_bytes") ?? 0
        let maxFiles = try r.number("max_files") ?? 100
        guard rotate >= 0, rotate <= 1e15, rotate == rotate.rounded() else { throw APIError(.badRequest, "rotate_bytes must be a whole number of bytes") }
        guard (1...100_000).contains(maxFiles), maxFiles == maxFiles.rounded() else { throw APIError(.badRequest, "max_files must be 1...100000") }
        if let current = proxy.capture, current !== server.capture {
            throw APIError(.conflict, "a capture to \(current.options.path) is running on this proxy")
        }
        let capture: PacketCapture
        do {
            capture = try PacketCapture(PacketCapture.Options(path: path, rotateBytes: Int64(rotate), maxFiles: Int(maxFiles)))
        } catch {
            throw APIError(.badRequest, "cannot write the capture: \(error)")
        }
        proxy.replaceCapture(capture)
        let json = Self.captureJSON(capture)
        events.record("pcap.start", proxy: proxyName, detail: json)
        return json
    }

    public func showCapture(_ proxyName: String) throws(APIError) -> JSONValue {
        guard let capture = try proxy(proxyName).capture else { throw APIError(.notFound, "no capture on this proxy") }
        return Self.captureJSON(capture)
    }

    public func stopCapture(_ proxyName: String) throws(APIError) -> JSONValue {
        let proxy = try proxy(proxyName)
        guard let current = proxy.capture, current !== server.capture else {
            throw APIError(.notFound, "no capture started through the API on this proxy")
        }
        proxy.replaceCapture(server.capture)
        current.close()
        let json = Self.captureJSON(current)
        events.record("pcap.stop", proxy: proxyName, detail: json)
        return json
    }

    /// A deleted proxy's API capture is closed with it (its writer thread ends).
    func closeAPICapture(of proxy: Proxy) {
        if let current = proxy.capture, current !== server.capture { current.close() }
    }

    static func captureJSON(_ capture: PacketCapture) -> JSONValue {
        let s = capture.stats
        var o: [String: JSONValue] = [
            "path": .string(capture.options.path), "rotate_bytes": .integer(capture.options.rotateBytes),
            "packets": .integer(s.packetsWritten), "dropped_records": .integer(s.dropped), "dropped_bytes": .integer(s.droppedBytes),
            "files": .array(s.files.map { .string($0) }),
        ]
        if let e = s.writeError { o["error"] = .string(e) }
        return .object(o)
    }
}
