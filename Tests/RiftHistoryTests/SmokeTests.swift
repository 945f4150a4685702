import Testing
@testable import RiftHistory

@Test func readsAMinimalJSONLHistory() throws {
    let h = try HistoryReader.parse(#"{"type":"invoke","process":0,"f":"read","key":"a","value":null,"time":1}"#)
    #expect(h.events.count == 1)
}
