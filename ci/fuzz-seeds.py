#!/usr/bin/env python3
"""Writes ci/fuzz's seed corpus: OUT/<target>/<name>, one file per seed, from the project's
fixtures (faults/*.yaml, harness/*.yaml, the Porcupine corpus when present, histories of past
runs) and small handmade inputs in each format. Usage: fuzz-seeds.py REPO OUT [CORPUS]."""
import glob
import os
import struct
import sys

repo, out = sys.argv[1], sys.argv[2]
corpus = sys.argv[3] if len(sys.argv) > 3 else ""
MAX = 8 << 10  # libFuzzer mutates small inputs best (and fast); larger fixtures are cut at a line end


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        data = data[:data.rfind(b"\n", 0, MAX) + 1] or data[:MAX]
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def files(pattern):
    return sorted(glob.glob(os.path.join(repo, pattern)))


# Wire parsers: a choice byte (bit 0: reply, bit 1: small limits), a chunk size, the stream.
resp_requests = ["*1\r\n$4\r\nPING\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv\n\r\n", "PING\r\n",
                 "get k\n", "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n*0\r\n", "*4\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n$5\r\nBCAST\r\n"]
resp_replies = ["+OK\r\n-ERR x\r\n:12\r\n", "$3\r\nabc\r\n$-1\r\n*-1\r\n", "*2\r\n$1\r\na\r\n:1\r\n_\r\n#t\r\n",
                ",1.5\r\n(123\r\n!3\r\nerr\r\n=7\r\ntxt:abc\r\n", "%1\r\n+k\r\n*1\r\n:1\r\n~1\r\n+a\r\n",
                "|1\r\n+a\r\n+b\r\n+c\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n",
                ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n", "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"]
mc_requests = ["get a b\r\n", "set k 0 0 3\r\nabc\r\n", "cas k 0 0 1 5 noreply\r\nx\r\n", "delete k\n",
               "incr n 1\r\n", "mg k v\r\nms k 2 q\r\nhi\r\nmn\r\n", "version\r\nstats\r\n", "gets a\r\ntouch a 10\r\n"]
mc_replies = ["VALUE a 0 1\r\nx\r\nEND\r\n", "END\r\nSTAT a 1\r\nEND\r\n", "STORED\r\n12\r\n",
              "VA 1 f\r\nz\r\nHD\r\nEN\r\n", "CLIENT_ERROR bad\r\nVERSION 1\r\n", "VALUE a 0 1 7\r\nx\r\nEND\r\nNOT_FOUND\r\n"]
for target, requests, replies in [("resp", resp_requests, resp_replies), ("memcached", mc_requests, mc_replies)]:
    for i, s in enumerate(requests):
        put(target, f"request-{i}", bytes([0, 7]) + s.encode())
        put(target, f"request-small-{i}", bytes([2, 3]) + s.encode())
    for i, s in enumerate(replies):
        put(target, f"reply-{i}", bytes([1, 7]) + s.encode())
        put(target, f"reply-small-{i}", bytes([3, 1]) + s.encode())

# History readers.
put("history-jsonl", "handmade.jsonl", """{"rift_history":1,"seed":42,"topology":"3 redis"}
{"type":"invoke","process":0,"f":"write","key":"a","value":3,"time":10,"session":"s1"}
{"type":"ok","process":0,"f":"write","key":"a","value":3,"time":20,"node":"n1"}
{"type":"invoke","process":"nemesis","f":"start","value":{"fault":"partition"},"time":25}
{"type":"invoke","process":1,"f":"cas","key":"a","value":["x","y"],"time":30}
{"type":"fail","process":1,"f":"cas","key":"a","value":["x","y"],"time":40}
{"type":"invoke","process":2,"f":"read","key":"b","value":null,"time":41}
{"type":"info","process":2,"f":"read","key":"b","value":-1.5e3,"time":50,"node":"n2"}
""")
for i, path in enumerate(sorted(glob.glob(os.path.join(repo, "runs/*/history.jsonl")))[:5]):
    put("history-jsonl", f"run-{i}.jsonl", open(path, "rb").read())
put("history-edn", "vector.edn", """[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process :nemesis, :type :info, :f :start, :value nil}
 {:process 1, :type :invoke, :f :cas, :value [1 2]}
 {:process 1, :type :fail, :f :cas, :value [1 2]}]
""")
put("history-edn", "independent.edn", """{:type :invoke, :f :write, :value [3 5], :process 0, :time 100, :index 0}
{:type :ok, :f :write, :value [3 5], :process 0, :time 200, :index 1}
{:type :invoke, :f :read, :value [3 nil], :process 1, :time 300}
{:type :ok, :f :read, :value [3 5], :process 1, :time 400}
{:type :invoke, :f :cas, :value [4 [0 1]], :process 2, :time 500}
; a comment
{:type :info, :f :read, :value "s\\"x", :process 3, :time 600, :error :timeout}
""")
put("history-etcd", "handmade.log", """INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 3\t:invoke\t:write\t4
INFO  jepsen.util - 0\t:ok\t:read\tnil
INFO  jepsen.util - 3\t:ok\t:write\t4
INFO  jepsen.util - 1\t:invoke\t:cas\t[4 1]
INFO  jepsen.util - 1\t:fail\t:cas\t[4 1]
INFO  jepsen.util - 2\t:invoke\t:read\tnil
INFO  jepsen.util - 2\t:info\t:read\t:timed-out
""")
if corpus:
    for path in sorted(glob.glob(os.path.join(corpus, "porcupine/kv/*")))[:4]:
        put("history-edn", "porcupine-" + os.path.basename(path), open(path, "rb").read())
    for path in sorted(glob.glob(os.path.join(corpus, "porcupine/jepsen/*")))[:4]:
        put("history-etcd", "porcupine-" + os.path.basename(path), open(path, "rb").read())

# YAML files.
for path in files("faults/*.yaml"):
    put("scenario", os.path.basename(path), open(path, "rb").read())
for path in files("harness/*.yaml"):
    put("topology", os.path.basename(path), open(path, "rb").read())
put("proxy-config", "rift.yaml", """seed: 42
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
      - {type: frame_drop, attributes: {protocol: resp, command: GET, probability: 0.5}}
  - name: plain
    upstream: 127.0.0.1:11211
    enabled: false
    toxics: [{type: bandwidth, stream: downstream, attributes: {rate: 10}}, {type: slicer}]
""")
put("proxy-config", "toxiproxy.json",
    '[{"name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379", "enabled": true}]\n')
put("proxy-config", "anchors.yaml", "x: &a {name: a, upstream: '[::1]:1'}\nproxies: [*a, {<<: *a, name: b}]\n")

# API bodies.
for i, body in enumerate([
    '{"name":"redis","listen":"127.0.0.1:0","upstream":"127.0.0.1:6379","enabled":true}',
    '{"type":"latency","name":"slow","stream":"upstream","toxicity":0.5,"attributes":{"latency":100,"jitter":10}}',
    '{"type":"timeout","attributes":{"timeout":0},"duration_ms":1500}',
    '{"type":"frame_delay","attributes":{"protocol":"memcached","command":"get","delay":50,"probability":1}}',
    '{"groups":[["client","n1"],["n2","n3"]],"mode":"reset","one_way":true,"duration_ms":100}',
    '[{"name":"a","upstream":"localhost:1"},{"name":"b","upstream":"[::1]:2","listen":""}]',
    '{"proxies":[{"name":"a","upstream":"localhost:1","from":"client","to":"n1"}]}',
    '{"path":"/tmp/x.pcap","rotate_bytes":1e6,"max_files":3}',
    '{"Name":null,"UPSTREAM":"h:1","x":[1,2.5e-3,-0,true,false,null,"\\u00e9\\n"]}',
]):
    put("api-body", f"body-{i}.json", body)

# Captured traffic: TCP segments of one connection to port 6379 (or 11211) on a link type.
def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", v6=False):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    if v6:
        return struct.pack("!IHBB", 6 << 28, 20 + len(payload), 6, 64) + src + dst + header + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    return ip + header + payload


def conversation(port, request, reply, v6=False):
    c, s = (b"\0" * 15 + b"\1", b"\0" * 15 + b"\1") if v6 else (bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2]))
    return [tcp(c, s, 40000, port, 100, 0, 0x02, v6=v6), tcp(s, c, port, 40000, 500, 101, 0x12, v6=v6),
            tcp(c, s, 40000, port, 101, 501, 0x18, request, v6=v6),
            tcp(s, c, port, 40000, 501, 101 + len(request), 0x18, reply, v6=v6),
            tcp(c, s, 40000, port, 101 + len(request), 501 + len(reply), 0x11, v6=v6),
            tcp(s, c, port, 40000, 501 + len(reply), 102 + len(request), 0x11, v6=v6)]


links = {"raw": (0, b""), "ethernet": (1, b"\0" * 12 + b"\x08\x00"), "linuxSLL": (2, b"\0" * 14 + b"\x08\x00"), "null": (3, b"\x02\0\0\0")}
convs = {
    "resp": (0, conversation(6379, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"+OK\r\n$1\r\n1\r\n")),
    "memcached": (1, conversation(6379, b"set k 0 0 1\r\n1\r\nget k\r\n", b"STORED\r\nVALUE k 0 1\r\n1\r\nEND\r\n")),
    "resp-v6": (0, conversation(6379, b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n", b":1\r\n", v6=True)),
}
for cname, (proto, frames) in convs.items():
    for lname, (index, prefix) in links.items():
        if cname.endswith("v6") and lname != "raw":
            continue
        put("record-traffic", f"{cname}-{lname}", bytes([proto | index << 1]) + b"\xff\xfe".join(prefix + f for f in frames))
        # Out of order: the reply before the request, the request twice.
        shuffled = frames[:2] + [frames[3], frames[2], frames[2]] + frames[4:]
        put("record-traffic", f"{cname}-{lname}-reordered", bytes([proto | index << 1]) + b"\xff\xfe".join(prefix + f for f in shuffled))
# The packet decoder's links, in LinkType order: null, ethernet, raw, loop, linuxSLL, linuxSLL2.
packet_prefixes = [(0, b"\x02\0\0\0"), (1, b"\0" * 12 + b"\x81\x00\0\0\x08\x00"), (2, b""), (3, b"\0\0\0\x02"),
                   (4, b"\0" * 14 + b"\x86\xdd"), (5, b"\x08\x00" + b"\0" * 18)]
for index, prefix in packet_prefixes:
    frames = convs["resp-v6" if index == 4 else "resp"][1]
    put("record-packet", f"link-{index}", bytes([index]) + prefix + frames[2])
put("record-packet", "ipv6-options", bytes([2]) + struct.pack("!IHBB", 6 << 28, 28, 0, 64) + b"\0" * 32 + bytes([6, 0]) + b"\0" * 6 + b"\0" * 20)
