import Foundation
import Hummingbird
import RiftFaults
import Testing
@testable import RiftControl

@Suite struct ToxicEndpointTests {
    static let proxy = #"{"name":"p","upstream":"127.0.0.1:6379"}"#

    @Test func createAnswers200WithToxiproxyShapeAndDefaults() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            let r = try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","attributes":{"latency":100,"jitter":10}}"#)
            #expect(r.status == .ok)
            #expect(r.json?["name"]?.string == "latency_downstream")
            #expect(r.json?["type"]?.string == "latency")
            #expect(r.json?["stream"]?.string == "downstream")
            #expect(r.json?["toxicity"]?.number == 1)
            #expect(r.json?["attributes"]?["latency"]?.number == 100)
            #expect(r.json?["attributes"]?["jitter"]?.number == 10)
            #expect(try await api.call(.get, "/proxies/p/toxics/latency_downstream").json == r.json)
            #expect(try await api.call(.get, "/proxies/p").json?["toxics"] == .array([r.json!]))
        }
    }

    @Test func streamIsCaseInsensitiveAndListedUpstreamFirst() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","stream":"DownStream"}"#)
            let up = try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","stream":"UPSTREAM","toxicity":0.5}"#)
            #expect(up.json?["name"]?.string == "latency_upstream")
            #expect(up.json?["toxicity"]?.number == 0.5)
            let list = try await api.call(.get, "/proxies/p/toxics")
            #expect(list.json?.array?.map { $0["name"]?.string } == ["latency_upstream", "latency_downstream"])
        }
    }

    @Test func duplicateNameAcrossStreamsIsAConflict() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            try await api.call(.post, "/proxies/p/toxics", #"{"name":"slow","type":"latency","stream":"upstream"}"#)
            let again = try await api.call(.post, "/proxies/p/toxics", #"{"name":"slow","type":"latency","stream":"downstream"}"#)
            #expect(again.status == .conflict)
            #expect(again.error == "toxic already exists")
        }
    }

    @Test func badTypeStreamToxicityAndAttributesAre400() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            let type = try await api.call(.post, "/proxies/p/toxics", #"{"type":"nonsense"}"#)
            #expect(type.status == .badRequest)
            #expect(type.error == "invalid toxic type")
            let noType = try await api.call(.post, "/proxies/p/toxics", #"{"name":"x"}"#)
            #expect(noType.error == "invalid toxic type")
            let stream = try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","stream":"sideways"}"#)
            #expect(stream.error == "stream was invalid, can be either upstream or downstream")
            let toxicity = try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","toxicity":2}"#)
            #expect(toxicity.status == .badRequest)
            let attribute = try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","attributes":{"latency":-1}}"#)
            #expect(attribute.status == .badRequest)
            #expect(attribute.error?.contains("latency") == true)
            #expect(try await api.call(.get, "/proxies/p/toxics").json == .array([]))
        }
    }

    @Test func unknownAttributesAreIgnored() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            let r = try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","attributes":{"latency":5,"colour":"red"}}"#)
            #expect(r.status == .ok)
            #expect(r.json?["attributes"]?["colour"] == nil)
        }
    }

    @Test func everyRegisteredTypeCanBeAddedWithItsDefaults() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            for type in FaultRegistry.types {
                let r = try await api.call(.post, "/proxies/p/toxics", #"{"type":"\#(type.type)","name":"t-\#(type.type)"}"#)
                #expect(r.status == .ok, "\(type.type): \(r.text)")
                #expect(r.json?["type"]?.string == type.type)
                let removed = try await api.call(.delete, "/proxies/p/toxics/t-\(type.type)")
                #expect(removed.status == .noContent)
            }
        }
    }

    @Test func updateMergesAttributesByPostOrPatch() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","attributes":{"latency":100,"jitter":10}}"#)
            let post = try await api.call(.post, "/proxies/p/toxics/latency_downstream", #"{"attributes":{"latency":200}}"#)
            #expect(post.status == .ok)
            #expect(post.json?["attributes"]?["latency"]?.number == 200)
            #expect(post.json?["attributes"]?["jitter"]?.number == 10)
            let patch = try await api.call(.patch, "/proxies/p/toxics/latency_downstream", #"{"toxicity":0.25,"Attributes":{"Jitter":3}}"#)
            #expect(patch.json?["toxicity"]?.number == 0.25)
            #expect(patch.json?["attributes"]?["latency"]?.number == 200)
            #expect(patch.json?["attributes"]?["jitter"]?.number == 3)
            let missing = try await api.call(.post, "/proxies/p/toxics/nope", #"{"toxicity":0.5}"#)
            #expect(missing.status == .notFound)
            #expect(missing.error == "toxic not found")
        }
    }

    @Test func deleteAnswers204ThenNotFound() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency"}"#)
            #expect(try await api.call(.delete, "/proxies/p/toxics/latency_downstream").status == .noContent)
            let again = try await api.call(.delete, "/proxies/p/toxics/latency_downstream")
            #expect(again.status == .notFound)
            #expect(again.error == "toxic not found")
            #expect(try await api.call(.get, "/proxies/p/toxics/latency_downstream").error == "toxic not found")
        }
    }

    @Test func timedToxicIsRemovedOnTimeAndLogged() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            let r = try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","duration_ms":30}"#)
            #expect(r.json?["expires_at_ms"] != nil)
            let gone = try await eventually { try await api.call(.get, "/proxies/p/toxics").json == .array([]) }
            #expect(gone)
            let kinds = api.plane.events.events().map(\.kind)
            #expect(kinds == ["proxy.create", "toxic.add", "toxic.expire"])
        }
    }

    @Test func removingATimedToxicCancelsItsTimer() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", Self.proxy)
            try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency","duration_ms":20}"#)
            try await api.call(.delete, "/proxies/p/toxics/latency_downstream")
            // Re-added without a duration: the old timer must not remove the new one.
            try await api.call(.post, "/proxies/p/toxics", #"{"type":"latency"}"#)
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await api.call(.get, "/proxies/p/toxics").json?.array?.count == 1)
        }
    }
}
