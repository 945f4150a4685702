import RiftFaults
import RiftProxy
import Testing

@Suite struct ConfigFileTests {
    @Test func readsProxiesAndFaults() throws {
        let file = try ProxyConfigFile.parse("""
            seed: 42
            proxies:
              - name: redis-n1
                listen: 127.0.0.1:0
                upstream: localhost:6379
                from: client
                to: n1
                toxics:
                  - type: latency
                    name: slow
                    stream: UPSTREAM
                    toxicity: 0.5
                    attributes: { latency: 100, jitter: 10 }
              - name: plain
                upstream: 127.0.0.1:11211
                enabled: false
            """, file: "p.yaml")
        #expect(file.seed == 42)
        #expect(file.entries.count == 2)
        let first = file.entries[0]
        #expect(first.proxy == ProxyConfig(name: "redis-n1", listen: "127.0.0.1:0", upstream: "localhost:6379", from: "client", to: "n1"))
        #expect(first.faults.count == 1)
        #expect(first.faults[0].name == "slow")
        #expect(first.faults[0].stream == .upstream)
        #expect(first.faults[0].toxicity == 0.5)
        #expect(first.faults[0].config as? LatencyConfig == LatencyConfig(latencyMs: 100, jitterMs: 10))
        #expect(file.entries[1].proxy.enabled == false)
        #expect(file.entries[1].proxy.listen == "127.0.0.1:0")
    }

    @Test func readsToxiproxyJSON() throws {
        let file = try ProxyConfigFile.parse("""
            [{"name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379", "enabled": true}]
            """, file: "toxiproxy.json")
        #expect(file.entries.map(\.proxy.name) == ["redis"])
        #expect(file.entries[0].proxy.listen == "127.0.0.1:26379")
    }

    @Test func defaultFaultNameIsTypeAndStream() throws {
        let file = try ProxyConfigFile.parse("""
            proxies:
              - name: a
                upstream: 127.0.0.1:1
                toxics: [{type: latency, attributes: {latency: 5}}]
            """, file: "f.yaml")
        #expect(file.entries[0].faults[0].name == "latency_downstream")
    }

    /// Each bad input names the file, the line and the field.
    @Test(arguments: [
        ("proxies:\n  - name: a\n    upstream: 127.0.0.1:1\n    toxics:\n      - type: latency\n        attributes: {latency: -5}\n",
         "f.yaml:6:", "latency"),
        ("proxies:\n  - name: a\n    upstream: 127.0.0.1:1\n    toxics:\n      - type: nosuch\n",
         "f.yaml:5:", "unknown fault type 'nosuch'"),
        ("proxies:\n  - name: a\n    upstream: 127.0.0.1:1\n    toxics:\n      - type: latency\n        attributes: {latncy: 5}\n",
         "f.yaml:6:", "unknown attribute"),
        ("proxies:\n  - name: a\n    upstream: 127.0.0.1:99999\n", "f.yaml:3:", "port '99999'"),
        ("proxies:\n  - name: a\n    upstrem: 127.0.0.1:1\n", "f.yaml:3:", "unknown key"),
        ("proxies:\n  - name: a\n", "f.yaml:2:", "missing required field: upstream"),
        ("proxies:\n  - name: a b\n    upstream: 127.0.0.1:1\n", "f.yaml:2:", "not allowed"),
        ("proxies:\n  - {name: a, upstream: '127.0.0.1:1'}\n  - {name: a, upstream: '127.0.0.1:2'}\n", "f.yaml:3:", "used twice"),
        ("proxies:\n  - name: a\n    upstream: 127.0.0.1:1\n    toxics:\n      - type: latency\n        toxicity: 2\n",
         "f.yaml:6:", "out of range"),
        ("proxies: [\n", "f.yaml:", "not valid YAML"),
        ("", "f.yaml", "empty"),
        ("seed: -1\n", "f.yaml:1:", "non-negative"),
    ])
    func badInputNamesThePlace(_ text: String, _ place: String, _ message: String) {
        do {
            _ = try ProxyConfigFile.parse(text, file: "f.yaml")
            Issue.record("expected an error for \(text)")
        } catch {
            let description = "\(error)"
            #expect(description.hasPrefix(place), "\(description)")
            #expect(description.contains(message), "\(description)")
        }
    }

    @Test func missingFile() {
        #expect(throws: ConfigFileError.self) { try ProxyConfigFile.load(path: "/nonexistent/rift.yaml") }
    }
}
