import Testing
@testable import RiftHistory

@Suite struct PairingTests {
    @Test func aCrashedProcessLeavesAnInfoOperation() throws {
        let text = """
            {"type":"invoke","process":0,"f":"write","key":"a","value":1,"time":1}
            {"type":"invoke","process":1,"f":"write","key":"a","value":2,"time":2}
            {"type":"ok","process":1,"f":"write","key":"a","value":2,"time":3}
            """
        let ops = try HistoryReader.parse(text).paired().operations
        #expect(ops.count == 2)
        #expect(ops[0].status == .info && ops[0].completeTime == nil)
        #expect(ops[1].status == .ok && ops[1].completeTime == 3)
    }

    @Test func aReadCompletesWithTheValueRead() throws {
        let text = """
            {"type":"invoke","process":0,"f":"read","key":"a","value":null,"time":1}
            {"type":"ok","process":0,"f":"read","key":"a","value":"v","time":2,"node":"n2"}
            """
        let op = try HistoryReader.parse(text).paired().operations[0]
        #expect(op.input == .null && op.output == .string("v") && op.node == "n2" && op.invokeLine == 1 && op.completeLine == 2)
    }

    @Test func rejectsACompletionWithNothingInFlight() {
        let text = #"{"type":"ok","process":3,"f":"read","key":"a","value":1,"time":2}"#
        #expect(throws: HistoryError(line: 1, reason: "process 3 completes read (ok) with no operation in flight")) {
            try HistoryReader.parse(text).paired()
        }
    }

    @Test func rejectsTwoOperationsInFlightOnOneProcess() {
        let text = """
            {"type":"invoke","process":0,"f":"read","key":"a","value":null,"time":1}
            {"type":"invoke","process":0,"f":"write","key":"a","value":1,"time":2}
            """
        #expect(throws: HistoryError(line: 2, reason: "process 0 invokes write while its read from line 1 is in flight")) {
            try HistoryReader.parse(text).paired()
        }
    }

    @Test func collectsNemesisEvents() throws {
        let text = """
            {"type":"info","process":"nemesis","f":"start","value":"partition","time":5}
            {"type":"info","process":"nemesis","f":"stop","value":"heal","time":9}
            """
        let p = try HistoryReader.parse(text).paired()
        #expect(p.operations.isEmpty)
        #expect(p.firstNemesisTime("start") == 5)
        #expect(p.firstNemesisTime("stop") == 9)
    }
}
