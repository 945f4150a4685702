import Testing
@testable import RiftHistory

@Suite struct EDNReaderTests {
    @Test func readsAKnossosVectorOfMaps() throws {
        let text = """
            [{:process 0, :type :invoke, :f :write, :value 1}
             {:process 0, :type :ok, :f :write, :value 1}
             {:process :nemesis, :type :info, :f :start, :value nil}
             {:process 1, :type :invoke, :f :cas, :value [1 2]}
             {:process 1, :type :fail, :f :cas, :value [1 2]}]
            """
        let h = try HistoryReader.parse(text)
        #expect(h.events.count == 5)
        #expect(h.events.map(\.time) == [0, 1, 2, 3, 4])
        #expect(h.events[0].key == nil)
        #expect(h.events[2].process == .nemesis)
        #expect(h.events[3].value == .list([.int(1), .int(2)]))
        #expect(h.events[4].type == .fail)
    }

    @Test func readsJepsenLinesWithTimesAndIndependentKeys() throws {
        let text = """
            {:type :invoke, :f :write, :value [3 5], :process 0, :time 100, :index 0}
            {:type :ok, :f :write, :value [3 5], :process 0, :time 200, :index 1}
            {:type :invoke, :f :read, :value [3 nil], :process 1, :time 300}
            {:type :ok, :f :read, :value [3 5], :process 1, :time 400}
            {:type :invoke, :f :cas, :value [4 [0 1]], :process 2, :time 500}
            """
        let h = try HistoryReader.parse(text, format: .edn)
        #expect(h.events.map(\.key) == ["3", "3", "3", "3", "4"])
        #expect(h.events.map(\.time) == [100, 200, 300, 400, 500])
        #expect(h.events[3].value == .int(5))
        #expect(h.events[4].value == .list([.int(0), .int(1)]))
    }

    @Test func readsPorcupineKVLines() throws {
        let text = """
            {:process 0, :type :invoke, :f :append, :key "1", :value "x 0 0 y"}
            {:process 0, :type :ok, :f :append, :key "1", :value "x 0 0 y"}
            {:process 1, :type :invoke, :f :get, :key "1", :value nil}
            {:process 1, :type :ok, :f :get, :key "1", :value "x 0 0 y"}
            """
        let ops = try HistoryReader.parse(text, format: .porcupineKV).paired().operations
        #expect(ops.count == 2)
        #expect(ops[0].f == .append && ops[0].key == "1" && ops[0].input == .string("x 0 0 y"))
        #expect(ops[1].f == .get && ops[1].output == .string("x 0 0 y"))
    }

    @Test func toleratesATruncatedLastMap() throws {
        let text = """
            {:process 0, :type :invoke, :f :read, :value nil}
            {:process 0, :type :ok, :f :re
            """
        let h = try HistoryReader.parse(text)
        #expect(h.events.count == 1)
        #expect(h.warnings.count == 1)
    }

    /// Found by ci/fuzz: forms nested 200,000 deep, or as many `#_` discards or tags in a row,
    /// overflowed the reader's stack.
    @Test func rejectsFormsNestedTooDeepInsteadOfOverflowingTheStack() throws {
        let shallow = "{:process 0, :type :invoke, :f :write, :value " + String(repeating: "[", count: 50) + String(repeating: "]", count: 50) + "}"
        #expect(try HistoryReader.parse(shallow).events.count == 1)
        let tooDeep = HistoryError(line: 2, reason: "form nested deeper than 100 levels")
        for deep in [String(repeating: "[", count: 200_000), String(repeating: "#_", count: 200_000) + "1", String(repeating: "#tag ", count: 200_000) + "1"] {
            #expect(throws: tooDeep) { try HistoryReader.parse(shallow + "\n" + deep, format: .edn) }
        }
    }

    @Test func reportsAMissingTypeWithItsLine() {
        let text = """
            {:process 0, :type :invoke, :f :read, :value nil}
            {:process 0, :f :read, :value 1}
            """
        #expect(throws: HistoryError(line: 2, reason: "missing or unknown :type (expected :invoke, :ok, :fail or :info)")) {
            try HistoryReader.parse(text)
        }
    }
}

@Suite struct EDNTxnTests {
    @Test func readsKnossosMultiRegisterTxns() throws {
        let text = """
            ; x = y = 0
            [{:type :invoke,
              :f :txn,
              :value [[:read :x nil] [:write :y 2]],
              :process 0,
              :time 100}
             {:type :ok, :f :txn, :value [[:read :x 0] [:write :y 2]], :process 0, :time 200}
             {:type :invoke, :f :txn, :value [[:write :x 1]], :process 1, :time 300}
             {:type :info, :f :txn, :value nil, :process 1, :time 400}]
            """
        let h = try HistoryReader.parse(text)
        #expect(h.nullReads == .unknown)
        #expect(h.events.map(\.line) == [2, 7, 8, 9])
        let ops = try h.paired().operations
        #expect(ops.count == 2)
        #expect(ops[0].f == .txn && ops[0].key == "" && ops[0].status == .ok)
        #expect(ops[0].txnSteps == [TxnStep(f: .read, key: "x", value: .int(0)), TxnStep(f: .write, key: "y", value: .int(2))])
        // A crashed txn keeps its invocation's steps.
        #expect(ops[1].status == .info)
        #expect(ops[1].txnSteps == [TxnStep(f: .write, key: "x", value: .int(1))])
    }

    @Test func aKeyedTxnQualifiesItsStepKeys() throws {
        // jepsen.independent: [k txn]. A bare txn of two steps is not mistaken for [k v].
        let keyed = """
            {:type :invoke, :f :txn, :value [3 [[:read :x nil] [:write :y 1]]], :process 0, :time 1}
            {:type :ok, :f :txn, :value [3 [[:read :x 5] [:write :y 1]]], :process 0, :time 2}
            """
        let op = try HistoryReader.parse(keyed).paired().operations[0]
        #expect(op.key == "3")
        #expect(op.txnSteps?.map(\.key) == ["3/x", "3/y"])
        let bare = """
            {:type :invoke, :f :txn, :value [[:read :x nil] [:write :y 1]], :process 0, :time 1}
            {:type :ok, :f :txn, :value [[:read :x 5] [:write :y 1]], :process 0, :time 2}
            """
        let plain = try HistoryReader.parse(bare).paired().operations[0]
        #expect(plain.key == "")
        #expect(plain.txnSteps?.map(\.key) == ["x", "y"])
    }

    @Test func nullReadsAreAbsentInRiftsOwnFormat() throws {
        let jsonl = #"{"type":"invoke","process":0,"f":"read","key":"a","value":null,"time":1}"#
        #expect(try HistoryReader.parse(jsonl).nullReads == .absent)
    }

    @Test(arguments: [
        ("[[:read :x]]", "txn step 1 must be [f key value] (e.g. [:read :x 0]), got [\"read\",\"x\"]"),
        ("[[:read :x nil] [:append :y 1]]", "txn step 2: unknown function \"append\" (expected read or write)"),
        ("[[:write [1 2] 3]]", "txn step 1: key must be a keyword, string or integer, got [1,2]"),
        (":x", "txn value must be a list of [f key value] steps, got \"x\""),
    ])
    func aMalformedTxnNamesItsLine(value: String, reason: String) {
        let text = """
            {:type :invoke, :f :write, :value 1, :process 1, :time 0}
            {:type :ok, :f :write, :value 1, :process 1, :time 1}
            {:type :invoke, :f :txn, :value \(value), :process 0, :time 2}
            """
        #expect(throws: HistoryError(line: 3, reason: reason)) { try HistoryReader.parse(text).paired() }
    }

    @Test func aCompletionWithOtherStepsIsRefused() {
        let text = """
            {:type :invoke, :f :txn, :value [[:read :x nil]], :process 0, :time 2}
            {:type :ok, :f :txn, :value [[:read :y 1]], :process 0, :time 3}
            """
        #expect(throws: HistoryError(line: 2, reason: #"txn completion [["read","y",1]] does not name the steps of its invocation [["read","x",null]] on line 1"#)) {
            try HistoryReader.parse(text).paired()
        }
    }
}

@Suite struct PorcupineEtcdReaderTests {
    @Test func readsTabAndSpaceSeparatedLinesWithPorcupinesMeanings() throws {
        let text = "INFO  jepsen.util - 0\t:invoke\t:cas\t[3 0]\n"
            + "INFO  jepsen.util - 1   :invoke :read   nil\n"
            + "INFO  jepsen.util - 0\t:fail\t:cas\t[3 0]\n"
            + "INFO  jepsen.util - 1   :fail   :read   :timed-out\n"
            + "\n"
            + "INFO  jepsen.util - 2\t:invoke\t:write\t4\n"
            + "INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n"
        let h = try HistoryReader.parse(text)
        let ops = try h.paired().operations
        #expect(ops.count == 3)
        #expect(ops[0].f == .cas && ops[0].status == .ok && ops[0].isFailedCompare)
        #expect(ops[1].f == .read && ops[1].status == .fail)
        #expect(ops[2].f == .write && ops[2].status == .info && ops[2].input == .int(4))
        #expect(h.events.map(\.line) == [1, 2, 3, 4, 6, 7])
    }

    @Test func toleratesATruncatedLastLine() throws {
        let text = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t3\nINFO  jepsen.util - 1\t:inv"
        let h = try HistoryReader.parse(text)
        #expect(h.events.count == 2)
        #expect(h.warnings.count == 1)
        let cut = "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 0\t:ok\t:cas\t[1 "
        #expect(try HistoryReader.parse(cut).warnings.count == 1)
    }

    @Test func rejectsAForeignLine() {
        let text = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nWARN something else entirely here\nINFO  jepsen.util - 0\t:ok\t:read\tnil\n"
        #expect(throws: HistoryError(line: 2, reason: "expected 'INFO jepsen.util - PROCESS :TYPE :F VALUE'")) {
            try HistoryReader.parse(text)
        }
    }
}
