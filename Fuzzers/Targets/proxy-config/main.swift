// `rift server --config` files (Rift's YAML and Toxiproxy's JSON array).
import FuzzSupport
import RiftProxy

fuzz { raw in
    _ = try? ProxyConfigFile.parse(text(raw), file: "fuzz.yaml")
}
