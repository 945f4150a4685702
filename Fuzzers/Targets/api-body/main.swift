// The HTTP API's request bodies: JSON parsing (JSONValue.parse, as every endpoint reads its
// body), then each endpoint's checks (create/populate proxy, add toxic, partition), which run
// before anything changes. Also: what the API writes back reads back the same.
import FuzzSupport
import RiftControl

fuzz { raw in
    guard let body = try? JSONValue.parse(Array(raw)) else { return }
    precondition((try? JSONValue.parse(body.encoded())) == body, "a body does not read back as itself")
    _ = try? ControlPlane.ProxyRequest(body)
    _ = try? ControlPlane.ToxicRequest(body)
    _ = try? ControlPlane.PartitionRequest(body)
    if case .array(let entries) = body["proxies"] ?? body {
        for entry in entries { _ = try? ControlPlane.ProxyRequest(entry) }
    }
}
