import Prometheus
import RiftCapture
import RiftProxy

/// `/metrics` in Prometheus text, rendered from proxy snapshots at scrape time so that the data
/// path never calls into a metrics library. Byte counters use Toxiproxy's names and labels, so
/// dashboards built for Toxiproxy keep working.
public enum MetricsRenderer {
    public static func render(_ server: ProxyServer) -> String {
        // A fresh registry per scrape: counters start at zero and are raised to the snapshot's
        // totals, which keeps them monotonic for as long as the proxy lives.
        let registry = PrometheusCollectorRegistry()
        for proxy in server.proxies {
            let s = proxy.snapshot
            let base = [("listener", s.listen), ("proxy", s.config.name), ("upstream", s.config.upstream)]
            for (direction, received, sent) in [
                ("upstream", s.upstreamReceivedBytes, s.upstreamBytes), ("downstream", s.downstreamReceivedBytes, s.downstreamBytes),
            ] {
                let labels = [("direction", direction)] + base
                // Received: read from the socket, before the fault stages. Sent: passed on
                // after them (a stage that drops or holds bytes makes the two differ).
                registry.makeCounter(descriptor: describe("toxiproxy_proxy_received_bytes_total", "Bytes received by the proxy, per direction"), labels: labels).increment(by: received)
                registry.makeCounter(descriptor: describe("toxiproxy_proxy_sent_bytes_total", "Bytes sent by the proxy, per direction"), labels: labels).increment(by: sent)
            }
            let proxyLabels = [("proxy", s.config.name)]
            registry.makeGauge(descriptor: describe("rift_proxy_connections_open", "Client connections open now"), labels: proxyLabels).set(Double(s.openConnections))
            registry.makeGauge(descriptor: describe("rift_proxy_connections_relayed", "Of the open connections, those on the relay (no fault, no pipeline)"), labels: proxyLabels).set(Double(s.relayedConnections))
            registry.makeCounter(descriptor: describe("rift_proxy_connections_total", "Client connections accepted"), labels: proxyLabels).increment(by: s.connectionsTotal)
            registry.makeGauge(descriptor: describe("rift_proxy_faults_active", "Faults (toxics and partition cuts) on the proxy"), labels: proxyLabels).set(Double(s.faults.count + s.partitionFaults.count))
            registry.makeGauge(descriptor: describe("rift_proxy_enabled", "1 when the proxy is enabled"), labels: proxyLabels).set(s.config.enabled ? 1.0 : 0.0)
        }
        if let capture = server.capture {
            let c = capture.stats
            registry.makeCounter(descriptor: describe("rift_pcap_packets_written_total", "Packets in the --pcap capture files")).increment(by: c.packetsWritten)
            registry.makeCounter(descriptor: describe("rift_pcap_records_dropped_total", "Capture records dropped because the pcap writer's queue was full (proxied bytes are never dropped)")).increment(by: c.dropped)
        }
        registry.makeGauge(descriptor: describe("rift_partitions_active", "Partitions in force")).set(Double(server.partitions.count))
        registry.makeGauge(descriptor: describe("rift_proxies", "Proxies configured")).set(Double(server.proxies.count))
        return registry.emitToString()
    }

    private static func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
