// swift-tools-version:6.1
import PackageDescription

// Targets are roles over shared core targets; dependencies point toward the core:
// ConcordModels ← ConcordAuth ← ConcordStorage / ConcordRedis ← ConcordTiering ← ConcordCell, ConcordEdge, ConcordRelay ← executables.
// The edge never links ConcordStorage: it reaches data only through the cell's internal API.
let package = Package(
    name: "Concord",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "concord", targets: ["concord"]),
        .executable(name: "concordctl", targets: ["concordctl"]),
        .executable(name: "concord-bench", targets: ["concord-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        // Core: ids, Discord wire shapes, errors, validation, routes, config. Foundation only.
        .target(name: "ConcordModels"),
        // Discord's permission algorithm: roles, overwrites, timeouts, hierarchy; pure, no I/O.
        .target(name: "ConcordPermissions", dependencies: ["ConcordModels"]),
        // Token minting/verification and password hashing.
        .target(name: "ConcordAuth", dependencies: [
            "ConcordModels",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // Async Redis client: SwiftNIO does the I/O, hiredis the protocol.
        .target(name: "ConcordRedis", dependencies: [
            "CHiredis",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // PostgreSQL: migrations and the cell's stores. The only target with SQL.
        .target(name: "ConcordStorage", dependencies: [
            "ConcordModels", "ConcordPermissions", "CSQLite", "CZstd",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["SQL"]),
        // The gateway protocol: frames, intents, close codes and the I/O-free session machine.
        .target(name: "ConcordGateway", dependencies: ["ConcordModels", "ConcordPermissions", "CZlib", "CZstd"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Tiering: archive files, their stores (a directory or an S3-compatible bucket) and cache,
        // reading history across tiers, moving buckets.
        .target(name: "ConcordTiering", dependencies: [
            "ConcordModels", "ConcordStorage",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ]),
        // What the cell's and the edge's HTTP servers share: Discord-shaped JSON responses, TLS,
        // and the one client of the cluster's internal API.
        .target(name: "ConcordHTTP", dependencies: [
            "ConcordModels",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // What every process exports for operators: metrics and health on an admin listener.
        .target(name: "ConcordObservability", dependencies: [
            "ConcordRedis",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // The cell: domain actions (the only writers of the outbox), internal API, outbox publisher.
        .target(name: "ConcordCell", dependencies: [
            "ConcordModels", "ConcordAuth", "ConcordStorage", "ConcordTiering", "ConcordRedis", "ConcordHTTP", "ConcordObservability",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The edge: public REST API; authenticates, validates, rate-limits, forwards to the home cell.
        .target(name: "ConcordEdge", dependencies: [
            "ConcordModels", "ConcordAuth", "ConcordRedis", "ConcordHTTP", "ConcordGateway", "ConcordObservability",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The relay: other cells' outbox events into one cell's replicas (shared channels).
        .target(name: "ConcordRelay", dependencies: [
            "ConcordModels", "ConcordRedis", "ConcordHTTP", "ConcordObservability",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "concord", dependencies: [
            "ConcordCell", "ConcordEdge", "ConcordRelay", "ConcordObservability",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "concordctl", dependencies: [
            "ConcordCell", "ConcordStorage", "ConcordRedis", "ConcordAuth", "ConcordTiering", "ConcordHTTP", "ConcordObservability",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .executableTarget(name: "concord-bench", dependencies: [
            "ConcordModels", "ConcordGateway",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "ConcordUnitTests", dependencies: ["ConcordModels", "ConcordAuth", "ConcordRedis", "ConcordEdge", "ConcordGateway", "ConcordPermissions", "ConcordHTTP", "ConcordObservability", "ConcordTiering", "ConcordStorage", "ConcordCell", "ConcordRelay"]),
        .testTarget(name: "ConcordIntegrationTests", dependencies: [
            "ConcordCell", "ConcordEdge", "ConcordStorage", "ConcordRedis", "ConcordGateway", "ConcordTiering", "ConcordRelay", "ConcordObservability",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // Reads the deployment files (compose, manifests) that no engine runs here.
        .testTarget(name: "ConcordDeploymentTests", dependencies: [
            "ConcordModels",
            .product(name: "Yams", package: "Yams"),
        ]),
    ]
)
