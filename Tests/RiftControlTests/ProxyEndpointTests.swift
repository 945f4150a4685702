import Foundation
import Hummingbird
import Testing
@testable import RiftControl

@Suite struct ProxyEndpointTests {
    @Test func versionIsToxiproxy212OrLater() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let r = try await api.call(.get, "/version")
            #expect(r.status == .ok)
            let version = try #require(r.json?["version"]?.string)
            let parts = version.split(separator: ".").compactMap { Int($0) }
            #expect(parts.count == 3 && (parts[0], parts[1]) >= (2, 12))
        }
    }

    @Test func createEchoesTheResolvedListenAddress() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let r = try await api.call(.post, "/proxies", #"{"name":"redis","listen":"localhost:0","upstream":"127.0.0.1:6379"}"#)
            #expect(r.status == .created)
            let listen = try #require(r.json?["listen"]?.string)
            #expect(listen.hasPrefix("127.0.0.1:"))
            #expect(!listen.hasSuffix(":0"))
            #expect(r.json?["enabled"]?.bool == true)
            #expect(r.json?["toxics"] == .array([]))
            #expect(r.json?["upstream"]?.string == "127.0.0.1:6379")

            let all = try await api.call(.get, "/proxies")
            #expect(all.status == .ok)
            #expect(all.json?["redis"]?["listen"]?.string == listen)
            let one = try await api.call(.get, "/proxies/redis")
            #expect(one.json == r.json)
        }
    }

    @Test func createWithoutListenTakesAFreeLoopbackPort() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let r = try await api.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:6379","listen":null}"#)
            #expect(r.status == .created)
            #expect(r.json?["listen"]?.string?.hasPrefix("127.0.0.1:") == true)
        }
    }

    @Test func createRequiresNameAndUpstream() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let noName = try await api.call(.post, "/proxies", #"{"upstream":"127.0.0.1:6379"}"#)
            #expect(noName.status == .badRequest)
            #expect(noName.error == "missing required field: name")
            #expect(noName.json?["status"]?.number == 400)
            let noUpstream = try await api.call(.post, "/proxies", #"{"name":"a"}"#)
            #expect(noUpstream.error == "missing required field: upstream")
            let badAddress = try await api.call(.post, "/proxies", #"{"name":"a","upstream":"nowhere"}"#)
            #expect(badAddress.status == .badRequest)
            #expect(badAddress.error?.contains("upstream") == true)
        }
    }

    @Test func duplicateNameIsAConflict() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:6379"}"#)
            let again = try await api.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:6380"}"#)
            #expect(again.status == .conflict)
            #expect(again.error == "proxy already exists")
        }
    }

    @Test func listenFailureIsA500WithTheReason() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let first = try await api.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:6379"}"#)
            let taken = try #require(first.json?["listen"]?.string)
            let second = try await api.call(.post, "/proxies", #"{"name":"b","upstream":"127.0.0.1:6379","listen":"\#(taken)"}"#)
            #expect(second.status == .internalServerError)
            #expect(second.error?.contains("cannot listen on \(taken)") == true)
            #expect(try await api.call(.get, "/proxies/b").status == .notFound)
        }
    }

    @Test func unknownProxyIsNotFound() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            for (method, uri) in [(HTTPRequest.Method.get, "/proxies/nope"), (.delete, "/proxies/nope"), (.get, "/proxies/nope/toxics")] {
                let r = try await api.call(method, uri)
                #expect(r.status == .notFound)
                #expect(r.error == "proxy not found")
            }
            let update = try await api.call(.post, "/proxies/nope", #"{"enabled":false}"#)
            #expect(update.error == "proxy not found")
        }
    }

    @Test func updateIsPartialCaseInsensitiveAndTakesPostOrPatch() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let created = try await api.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:6379"}"#)
            let disabled = try await api.call(.post, "/proxies/a", #"{"Enabled":false,"upstream":null}"#)
            #expect(disabled.status == .ok)
            #expect(disabled.json?["enabled"]?.bool == false)
            #expect(disabled.json?["upstream"]?.string == "127.0.0.1:6379")
            #expect(disabled.json?["listen"] == created.json?["listen"])
            let moved = try await api.call(.patch, "/proxies/a", #"{"UPSTREAM":"127.0.0.1:6380","enabled":true}"#)
            #expect(moved.json?["upstream"]?.string == "127.0.0.1:6380")
            #expect(moved.json?["enabled"]?.bool == true)
            #expect(moved.json?["listen"] == created.json?["listen"])
        }
    }

    @Test func deleteAnswers204ThenTheProxyIsGone() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:6379"}"#)
            let r = try await api.call(.delete, "/proxies/a")
            #expect(r.status == .noContent)
            #expect(try await api.call(.get, "/proxies/a").status == .notFound)
            #expect(try await api.call(.get, "/proxies").json == .object([:]))
        }
    }

    @Test func populateCreatesAndReplacesOnlyWhatDiffers() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            let empty = try await api.call(.post, "/populate", "[]")
            #expect(empty.status == .created)
            #expect(empty.json == .object(["proxies": .array([])]))

            let body = #"[{"name":"a","upstream":"127.0.0.1:6379"},{"name":"b","upstream":"127.0.0.1:6380"}]"#
            let first = try await api.call(.post, "/populate", body)
            #expect(first.status == .created)
            let proxies = try #require(first.json?["proxies"]?.array)
            #expect(proxies.map { $0["name"]?.string } == ["a", "b"])

            // Same addresses: kept as they are (same port, toxics stay).
            try await api.call(.post, "/proxies/a/toxics", #"{"type":"latency","attributes":{"latency":5}}"#)
            let again = try await api.call(.post, "/populate", body)
            #expect(again.json?["proxies"]?.array?.first?["listen"] == proxies[0]["listen"])
            #expect(again.json?["proxies"]?.array?.first?["toxics"]?.array?.count == 1)

            // A new upstream: replaced.
            let changed = try await api.call(.post, "/populate", #"[{"name":"a","upstream":"127.0.0.1:7000"}]"#)
            #expect(changed.json?["proxies"]?.array?.first?["upstream"]?.string == "127.0.0.1:7000")
            #expect(changed.json?["proxies"]?.array?.first?["toxics"]?.array?.count == 0)

            // One bad entry: nothing changes.
            let bad = try await api.call(.post, "/populate", #"[{"name":"c","upstream":"127.0.0.1:1"},{"upstream":"127.0.0.1:2"}]"#)
            #expect(bad.status == .badRequest)
            #expect(bad.error == "missing required field: name")
            #expect(try await api.call(.get, "/proxies/c").status == .notFound)
        }
    }

    @Test func resetEnablesEveryProxyAndRemovesEveryToxic() async throws {
        try await APIHarness.run { (api: APIHarness) async throws in
            try await api.call(.post, "/proxies", #"{"name":"a","upstream":"127.0.0.1:6379","enabled":false}"#)
            try await api.call(.post, "/proxies", #"{"name":"b","upstream":"127.0.0.1:6379"}"#)
            try await api.call(.post, "/proxies/b/toxics", #"{"type":"latency","attributes":{"latency":5}}"#)
            let r = try await api.call(.post, "/reset")
            #expect(r.status == .noContent)
            let all = try await api.call(.get, "/proxies")
            #expect(all.json?["a"]?["enabled"]?.bool == true)
            #expect(all.json?["b"]?["toxics"] == .array([]))
        }
    }
}
