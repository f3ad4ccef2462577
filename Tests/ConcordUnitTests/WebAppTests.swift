@testable import ConcordEdge
import Foundation
import HTTPTypes
import Testing

/// The edge's static file serving for the web client: types, caching, the security policy, and
/// nothing outside the app's folder.
@Suite("Web client files")
struct WebAppTests {
    let root: String
    let app: WebApp

    init() throws {
        root = NSTemporaryDirectory() + "webapp-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/js", withIntermediateDirectories: true)
        try "<!doctype html>".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        try "export const x = 1;".write(toFile: root + "/js/main.js", atomically: true, encoding: .utf8)
        try "secret".write(toFile: root + "/notes.txt", atomically: true, encoding: .utf8)
        app = WebApp(root: root)
    }

    @Test func filesAreServedWithTheirTypesAndTheSecurityPolicy() throws {
        let page = try #require(app.response(path: "/app/", headers: [:]))
        #expect(page.status == .ok)
        #expect(page.headers[.contentType] == "text/html; charset=utf-8")
        let policy = try #require(page.headers[.contentSecurityPolicy])
        #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "no inline script")
        #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        let script = try #require(app.response(path: "/app/js/main.js", headers: [:]))
        #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
        #expect(script.headers[.cacheControl] == "no-cache")
    }

    @Test func anUnchangedFileRevalidatesWith304() throws {
        let first = try #require(app.response(path: "/app/js/main.js", headers: [:]))
        let etag = try #require(first.headers[.eTag])
        var headers = HTTPFields()
        headers[.ifNoneMatch] = etag
        #expect(app.response(path: "/app/js/main.js", headers: headers)?.status == .notModified)
        headers[.ifNoneMatch] = "\"stale\""
        #expect(app.response(path: "/app/js/main.js", headers: headers)?.status == .ok)
    }

    @Test func onlyTheAppsOwnFilesAreServed() {
        #expect(app.response(path: "/app/notes.txt", headers: [:])?.status == .notFound, "unknown file types are not served")
        #expect(app.response(path: "/app/../Package.swift", headers: [:])?.status == .notFound)
        #expect(app.response(path: "/app/js/../../secret", headers: [:])?.status == .notFound)
        #expect(app.response(path: "/api/v10/users/@me", headers: [:]) == nil, "API paths are left to the API")
        #expect(app.response(path: "/", headers: [:])?.headers[.location] == "/app/")
    }
}
