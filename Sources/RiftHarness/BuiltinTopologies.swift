/// The topologies of `harness/` built into the binary, so `rift run` finds them by name from any
/// directory (an installed `rift` has no `harness/` beside it). `BuiltinTopologiesTests` holds
/// each equal to its file: edit `harness/NAME.yaml`, then copy it here.
public enum BuiltinTopologies {
    /// Name → the file's text, as `harness/<name>.yaml` holds it.
    public static let files: [String: String] = [
        "memcached-pool": #"""
            # Three independent memcached nodes, started by `rift run` on free loopback ports. Clients spread
            # keys over them with a ketama ring (each workload process keeps its own ring and, with
            # `auto_eject: true`, its own ejection state). Proxies: client-n1, client-n2, client-n3.
            name: memcached-pool
            kind: memcached
            nodes:
              - name: n1
              - name: n2
              - name: n3
            """#,
        "redis-cluster": #"""
            # A Redis cluster: three masters (n1, n2, n3; slots 0-5460, 5461-10921, 10922-16383) and, with
            # replicas_per_master: 1, a replica each (n4 of n1, n5 of n2, n6 of n3), started by `rift run`
            # as child processes on free loopback ports, formed by the harness (ADDSLOTSRANGE, MEET,
            # REPLICATE) and ready when every node says cluster_state:ok with all 16384 slots.
            #
            # Every link runs through its own Rift proxy, named after it:
            #   client-nX                   clients to each node                      (from: client, to: nX)
            #   n4-to-n1, n1-to-n4, ...     replication, both ways (after a failover  (from: n4, to: n1) ...
            #                               the old master replicates from its replica)
            #   nA-to-nB-bus                the cluster bus, every ordered pair        (from: nA, to: nB)
            # Nodes announce the proxies' side (cluster-announce-ip/port/bus-port), so MOVED redirections
            # and the bus go through Rift, and each node dials from its own address (n1 from 127.0.0.2, n2
            # from 127.0.0.3, ...) so the announced address can tell its links apart. A partition such as
            # [[n1], [n2, n3, n4, n5, n6]] cuts the bus and replication between n1 and the others; clients
            # keep reaching every node unless `client` is named in a group.
            name: redis-cluster
            kind: redis-cluster
            masters: 3
            replicas_per_master: 1   # 0: three masters only
            node_timeout: 1s         # cluster-node-timeout: failure detection and the minority's write window
            """#,
        "redis-cluster-masters": #"""
            # harness/redis-cluster.yaml without replicas: three masters (n1, n2, n3) and nothing to fail
            # over to. Links: client-nX and the cluster bus nA-to-nB-bus for every ordered pair.
            name: redis-cluster-masters
            kind: redis-cluster
            masters: 3
            replicas_per_master: 0
            node_timeout: 1s
            """#,
        "redis-cluster-regions": #"""
            # harness/redis-cluster.yaml in two regions: the masters n1, n2, n3 in us, their replicas n4
            # (of n1), n5 (of n2), n6 (of n3) in eu. Every link between the regions carries a standing
            # WAN delay (each direction 40 ms, jitter 5 ms, normal), from before the servers start until
            # they stop; a heal leaves it. Beyond redis-cluster's proxies:
            #   client-eu-n1 ... client-eu-n3   the us masters for eu clients (WAN)
            #   client-us-n4 ... client-us-n6   the eu replicas for us clients (WAN)
            # and the WAN lies on n4-to-n1, n1-to-n4 (replication) and on every bus link between a us
            # and an eu node (n4-to-n1-bus, n1-to-n4-bus, ...). A scenario's `workload.clients: {us: 4,
            # eu: 4}` gives each client process a home region: its writes go to the slot's master, its
            # reads (reads: any) to the master or its replica, whichever is in its region.
            name: redis-cluster-regions
            kind: redis-cluster
            masters: 3
            replicas_per_master: 1
            node_timeout: 1s
            regions:
              us: [n1, n2, n3]
              eu: [n4, n5, n6]
            wan: {latency: 40ms, jitter: 5ms, distribution: normal}
            """#,
        "redis-regions": #"""
            # A Redis primary and two replicas in two regions: n1 (the primary) and n2 in us, n3 in eu,
            # started by `rift run` as child processes on free loopback ports. Every link between the
            # regions carries a standing WAN delay (each direction 40 ms, jitter 5 ms, normal), from before
            # the servers start until they stop; a heal leaves it. Proxies:
            #   client-n1, client-n2, client-n3   each node for the clients of its own region
            #   client-eu-n1, client-eu-n2        us nodes for eu clients (WAN)
            #   client-us-n3                      the eu node for us clients (WAN)
            #   n2-to-n1                          replication inside us
            #   n3-to-n1                          replication from eu to us (WAN)
            # A scenario's `workload.clients: {us: 4, eu: 4}` gives each client process a home region: its
            # reads go to its region's nodes, its writes to the primary wherever it is.
            name: redis-regions
            kind: redis
            nodes:
              - name: n1
              - name: n2
                replicaof: n1
              - name: n3
                replicaof: n1
            regions:
              us: [n1, n2]
              eu: [n3]
            wan: {latency: 40ms, jitter: 5ms, distribution: normal}
            """#,
        "redis-replicated": #"""
            # A Redis primary (n1) and two replicas (n2, n3), started by `rift run` as child processes on
            # free loopback ports (no persistence, diskless replication). Every link runs through its own
            # Rift proxy, named after it:
            #   client-n1, client-n2, client-n3   clients to each node        (from: client, to: nX)
            #   n2-to-n1, n3-to-n1                each replica's replication  (from: nX, to: n1)
            # Partitions cut by these from/to labels; `fault:` steps name a proxy.
            name: redis-replicated
            kind: redis
            nodes:
              - name: n1
              - name: n2
                replicaof: n1
              - name: n3
                replicaof: n1
            """#,
        "redis-sentinel": #"""
            # A Redis primary (n1) and two replicas (n2, n3) watched by three Redis Sentinels (s1, s2, s3,
            # Debian's redis-server run as `redis-server sentinel.conf --sentinel`), all started by `rift
            # run` as child processes on free loopback ports. The sentinels fail over by themselves; clients
            # ask them where the primary is (SENTINEL get-master-addr-by-name rift), and ask again after a
            # connection error, a READONLY reply or a +switch-master message.
            #
            # Every link runs through its own Rift proxy, named after it:
            #   client-nX, client-sX        clients to each node and each sentinel  (from: client, to: nX/sX)
            #   nA-to-nB                    replication, every ordered pair (after  (from: nA, to: nB)
            #                               a failover any node replicates any)
            #   sJ-to-nX                    each sentinel to each node               (from: sJ, to: nX)
            #   sJ-to-sK                    each sentinel to each other sentinel     (from: sJ, to: sK)
            # Nodes and sentinels announce the proxies' side (replica-announce-ip/port, sentinel
            # announce-ip/port), so every address a sentinel reports or dials is Rift's, and each process
            # dials from its own address (n1 from 127.0.0.2 ... s1 from 127.0.0.5 ...) so the announced
            # address can tell its links apart. A partition such as [[n1], [n2, n3, s1, s2, s3]] cuts n1
            # from its replicas and the sentinels; clients keep reaching it unless `client` is in a group.
            # Each node runs on a config file and each sentinel on its own, both of which Sentinel rewrites
            # (nodes/nX/redis.conf, nodes/sN/sentinel.conf; logs beside them: redis.log, sentinel.log), so a
            # restarted node comes back with the role Sentinel gave it.
            name: redis-sentinel
            kind: redis-sentinel
            nodes:
              - name: n1
              - name: n2
                replicaof: n1
              - name: n3
                replicaof: n1
            sentinels: 3
            quorum: 2                  # sentinels that must agree n1 is down
            down_after: 1s             # down-after-milliseconds
            failover_timeout: 10s      # failover-timeout
            min_replicas_to_write: 0   # min-replicas-to-write on every node (0: off)
            min_replicas_max_lag: 10s  # min-replicas-max-lag (whole seconds)
            """#,
        "redis-sentinel-regions": #"""
            # harness/redis-sentinel.yaml in two regions: n1 (the primary), n2 and sentinel s1 in us; n3 and
            # sentinels s2, s3 in eu, so the sentinels' quorum (2) and their majority live in eu, away from
            # the primary. Every link between the regions carries a standing WAN delay (each direction
            # 40 ms, jitter 5 ms, normal), from before the servers start until they stop; a heal leaves it.
            # Beyond redis-sentinel's links, each process gets a client link per other region:
            #   client-n1, client-n2, client-s1       us processes for us clients; client-n3, client-s2,
            #                                         client-s3 eu processes for eu clients
            #   client-eu-n1, client-eu-s1 ...        us processes for eu clients (WAN)
            #   client-us-n3, client-us-s2 ...        eu processes for us clients (WAN)
            #   n1-to-n3, s1-to-n3, s2-to-s1 ...      replication and sentinel links between regions (WAN)
            # A scenario's `workload.clients: {us: 4, eu: 4}` gives each client process a home region: it
            # asks its region's sentinels first, reads from its region's nodes, writes to the primary its
            # sentinels name.
            name: redis-sentinel-regions
            kind: redis-sentinel
            nodes:
              - name: n1
              - name: n2
                replicaof: n1
              - name: n3
                replicaof: n1
            sentinels: 3
            quorum: 2
            down_after: 1s
            failover_timeout: 10s
            regions:
              us: [n1, n2, s1]
              eu: [n3, s2, s3]
            wan: {latency: 40ms, jitter: 5ms, distribution: normal}
            """#,
        "redis-sentinel-min-replicas": #"""
            # harness/redis-sentinel.yaml with the primary's write guard on: a primary refuses writes
            # (NOREPLICAS) unless at least min_replicas_to_write replicas acknowledged its stream within
            # min_replicas_max_lag. Redis's documented way to bound what a cut-off primary acknowledges.
            name: redis-sentinel-min-replicas
            kind: redis-sentinel
            nodes:
              - name: n1
              - name: n2
                replicaof: n1
              - name: n3
                replicaof: n1
            sentinels: 3
            quorum: 2
            down_after: 1s
            failover_timeout: 10s
            min_replicas_to_write: 1
            min_replicas_max_lag: 10s
            """#,
        "twemproxy-memcached": #"""
            # Three memcached nodes (n1, n2, n3) behind one nutcracker (twemproxy), all started by `rift run`
            # on free loopback ports; nutcracker's config and log are in the run folder's nodes/twemproxy/.
            # Clients talk to nutcracker only. It spreads keys over the nodes on its ketama ring and, with
            # auto_eject_hosts, takes a node out of the ring after server_failure_limit failures in a row,
            # for server_retry_timeout: the node's keys rehash to the others meanwhile. (kind: memcached is
            # the other deployment: each client keeps its own ring, as libmemcached does.)
            #
            # Every link runs through its own Rift proxy, named after it:
            #   client-twemproxy                      clients to nutcracker             (from: client, to: twemproxy)
            #   twemproxy-to-n1, -n2, -n3             nutcracker to each node           (from: twemproxy, to: nX)
            #   client-n1, client-n2, client-n3       the harness's readiness probes    (from: client, to: nX)
            # A partition such as [[twemproxy, n1, n3], [n2]] cuts n2 from nutcracker. result.json's
            # `twemproxy` section holds nutcracker's stats at the end: ejections, requests and errors per node.
            name: twemproxy-memcached
            kind: twemproxy
            nodes:
              - name: n1
              - name: n2
              - name: n3
            hash: md5                   # nutcracker's default, fnv1a_64, puts the twelve keys r0-r11 all on n3
            distribution: ketama
            auto_eject_hosts: true      # nutcracker's default is false: twemproxy-memcached-no-eject.yaml
            server_failure_limit: 2     # failures in a row before an ejection
            server_retry_timeout: 1s    # how long an ejected node stays out (nutcracker's default: 30s)
            timeout: 500ms              # how long nutcracker waits on a node before SERVER_ERROR
            """#,
        "twemproxy-memcached-no-eject": #"""
            # harness/twemproxy-memcached.yaml without auto_eject_hosts (nutcracker's default): a node that
            # fails stays in the ring, so its keys fail with it (SERVER_ERROR) instead of moving to others.
            name: twemproxy-memcached-no-eject
            kind: twemproxy
            nodes:
              - name: n1
              - name: n2
              - name: n3
            hash: md5
            distribution: ketama
            auto_eject_hosts: false
            server_failure_limit: 2
            server_retry_timeout: 1s
            timeout: 500ms
            """#,
    ]

    public static var names: [String] { files.keys.sorted() }
}
