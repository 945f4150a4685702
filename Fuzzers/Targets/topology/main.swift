// Topology files (harness/*.yaml: replicated Redis, Redis Cluster, memcached pools).
import FuzzSupport
import RiftHarness

fuzz { raw in
    _ = try? ScenarioParser.parseTopology(text(raw), file: "fuzz.yaml")
}
