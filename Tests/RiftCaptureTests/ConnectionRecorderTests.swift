import RiftHistory
import RiftRecord
import RiftWire
import Testing

@Suite struct ConnectionRecorderTests {
    func resp(_ args: String...) -> [UInt8] { RESPRequestEncoder.bytes(args) }

    func summary(_ events: [HistoryEvent]) -> [String] {
        events.map { "\($0.type.rawValue) \($0.f) \($0.key ?? "-") \($0.value) @\($0.time)" }
    }

    @Test func pipelinedRequestsPairWithRepliesInOrder() {
        var r = ConnectionRecorder(process: .client(3), node: "n", protocol: .resp)
        // Three requests in one segment (one of them no register operation), replies split oddly.
        let requests = resp("SET", "a", "1") + resp("PING") + resp("GET", "a") + resp("DEL", "a")
        let invokes = r.clientBytes(requests, timeNs: 10)
        #expect(summary(invokes) == ["invoke write a 1 @10", "invoke read a null @10", "invoke delete a null @10"])
        let replies = Array("+OK\r\n+PONG\r\n$1\r\n1\r\n:1\r\n".utf8)
        var done = r.serverBytes(Array(replies[0..<7]), timeNs: 20)  // "+OK\r\n+P"
        done += r.serverBytes(Array(replies[7...]), timeNs: 30)
        #expect(summary(done) == ["ok write a 1 @20", "ok read a 1 @30", "ok delete a null @30"])
        #expect(done.allSatisfy { $0.process == .client(3) && $0.node == "n" })
        #expect(r.problem == nil)
    }

    @Test func nullsErrorsAndUnansweredRequests() {
        var r = ConnectionRecorder(process: .client(0), node: "n", protocol: .resp)
        _ = r.clientBytes(resp("GET", "x") + resp("SET", "x", "v") + resp("SET", "x", "2") + resp("GET", "x"), timeNs: 1)
        let done = r.serverBytes(Array("$-1\r\n-READONLY no\r\n".utf8), timeNs: 2)
        #expect(summary(done) == ["ok read x null @2", "fail write x \"v\" @2"])
        let end = r.finish(timeNs: 9)
        #expect(summary(end) == ["info write x 2 @9", "info read x null @9"], "unanswered requests may or may not have happened")
    }

    @Test func conditionalAndMultiKeyCommandsAreLeftOutButStillPaired() {
        var r = ConnectionRecorder(process: .client(0), node: "n", protocol: .resp)
        let invokes = r.clientBytes(resp("SET", "k", "1", "NX") + resp("DEL", "a", "b") + resp("SET", "k", "2", "EX", "10"), timeNs: 1)
        #expect(summary(invokes) == ["invoke write k 2 @1"])
        let done = r.serverBytes(Array("$-1\r\n:0\r\n+OK\r\n".utf8), timeNs: 2)
        #expect(summary(done) == ["ok write k 2 @2"])
    }

    @Test func aReplyWithoutARequestStopsFollowingTheConnection() {
        var r = ConnectionRecorder(process: .client(0), node: "n", protocol: .resp)
        _ = r.serverBytes(Array("+OK\r\n".utf8), timeNs: 1)
        #expect(r.problem != nil)
    }

    @Test func memcachedTextAndMetaCommands() {
        var r = ConnectionRecorder(process: .client(1), node: "m", protocol: .memcached)
        let requests = "set k 0 0 2\r\n42\r\nget k\r\nget nope\r\ndelete k\r\nms j 3\r\nabc\r\nmg j v\r\nmd j\r\nversion\r\n"
        let invokes = r.clientBytes(Array(requests.utf8), timeNs: 5)
        #expect(invokes.map(\.f) == ["write", "read", "read", "delete", "write", "read", "delete"])
        let replies = "STORED\r\nVALUE k 0 2\r\n42\r\nEND\r\nEND\r\nDELETED\r\nHD\r\nVA 3\r\nabc\r\nHD\r\nVERSION 1.6\r\n"
        let done = r.serverBytes(Array(replies.utf8), timeNs: 6)
        #expect(summary(done) == [
            "ok write k 42 @6", "ok read k 42 @6", "ok read nope null @6", "ok delete k null @6",
            "ok write j \"abc\" @6", "ok read j \"abc\" @6", "ok delete j null @6",
        ])
        #expect(r.problem == nil)
    }

    @Test func memcachedNoreplyWritesEndIndeterminate() {
        var r = ConnectionRecorder(process: .client(1), node: "m", protocol: .memcached)
        _ = r.clientBytes(Array("set k 0 0 1 noreply\r\n7\r\nget k\r\n".utf8), timeNs: 5)
        let done = r.serverBytes(Array("VALUE k 0 1\r\n7\r\nEND\r\n".utf8), timeNs: 6)
        #expect(summary(done) == ["ok read k 7 @6"])
        #expect(summary(r.finish(timeNs: 8)) == ["info write k 7 @8"])
    }
}
