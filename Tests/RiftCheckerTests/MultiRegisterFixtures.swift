/// Multi-register histories in Knossos' EDN format (`:f :txn`, values `[[:read :x 0] [:write :y 2]]`),
/// written for Rift's tests, with the verdicts they must get.
enum MultiRegisterFixtures {
    /// Valid from x = y = 0: a read overlapping a txn that writes both sees both old values or
    /// both new ones; a later txn writes x alone. Invalid from absent (the first read sees 0s
    /// nobody wrote).
    static let valid = """
        ; x = y = 0 at the start
        [{:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 0, :time 10}
         {:type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]], :process 1, :time 20}
         {:type :ok, :f :txn, :value [[:read :x 0] [:read :y 0]], :process 0, :time 30}
         {:type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]], :process 1, :time 40}
         {:type :invoke, :f :txn, :value [[:read :y nil] [:write :x 2]], :process 0, :time 50}
         {:type :ok, :f :txn, :value [[:read :y 1] [:write :x 2]], :process 0, :time 60}
         {:type :invoke, :f :txn, :value [[:read :x nil]], :process 1, :time 70}
         {:type :ok, :f :txn, :value [[:read :x 2]], :process 1, :time 80}]
        """

    /// A torn read: x = 1 and y = 0 while a txn writes both. Each key alone is linearizable
    /// (x's read of 1 after its write, y's read of 0 before it), so a per-key split would wrongly
    /// pass; together the txn's atomicity is broken.
    static let tornRead = """
        [{:type :invoke, :f :txn, :value [[:write :x 1] [:write :y 1]], :process 0, :time 0}
         {:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1, :time 1}
         {:type :ok, :f :txn, :value [[:read :x 1] [:read :y 0]], :process 1, :time 9}
         {:type :ok, :f :txn, :value [[:write :x 1] [:write :y 1]], :process 0, :time 10}]
        """

    /// A txn writing x and y crashes (`info`): it may have happened. A later read sees both
    /// writes: valid, the txn took effect.
    static let infoApplied = """
        [{:type :invoke, :f :txn, :value [[:write :x 5] [:write :y 5]], :process 0, :time 0}
         {:type :info, :f :txn, :value [[:write :x 5] [:write :y 5]], :process 0, :time 10, :error :timeout}
         {:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1, :time 20}
         {:type :ok, :f :txn, :value [[:read :x 5] [:read :y 5]], :process 1, :time 30}
         {:type :invoke, :f :txn, :value [[:read :x nil]], :process 2, :time 40}
         {:type :ok, :f :txn, :value [[:read :x 5]], :process 2, :time 50}]
        """

    /// The same crashed txn, but the reads see it half applied: first x without y, then y:
    /// no single point for the txn explains both reads.
    static let infoTorn = """
        [{:type :invoke, :f :txn, :value [[:write :x 5] [:write :y 5]], :process 0, :time 0}
         {:type :info, :f :txn, :value [[:write :x 5] [:write :y 5]], :process 0, :time 10}
         {:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1, :time 20}
         {:type :ok, :f :txn, :value [[:read :x 5] [:read :y 0]], :process 1, :time 30}]
        """

    /// A crashed txn that never shows, and a failed one (certainly not applied): the reads of 0
    /// are fine, from 0.
    static let infoNeverSeen = """
        [{:type :invoke, :f :txn, :value [[:write :x 7] [:write :y 7]], :process 0, :time 0}
         {:type :info, :f :txn, :value nil, :process 0, :time 5}
         {:type :invoke, :f :txn, :value [[:write :y 9]], :process 2, :time 6}
         {:type :fail, :f :txn, :value [[:write :y 9]], :process 2, :time 7}
         {:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1, :time 20}
         {:type :ok, :f :txn, :value [[:read :x 0] [:read :y 0]], :process 1, :time 30}]
        """

    /// Two components: {x, y} linked by a txn, z alone; z's read of 3 was never written.
    static let twoComponents = """
        [{:type :invoke, :f :txn, :value [[:write :x 1] [:read :y nil]], :process 0, :time 0}
         {:type :ok, :f :txn, :value [[:write :x 1] [:read :y 0]], :process 0, :time 10}
         {:type :invoke, :f :txn, :value [[:read :z nil]], :process 1, :time 20}
         {:type :ok, :f :txn, :value [[:read :z 3]], :process 1, :time 30}]
        """
}
