// swift-tools-version: 6.0
// Switchyard: a high-performance MCP server. Layout: pure codecs at the bottom,
// libuv I/O above them, thin executables on top (see README.md, "Architecture").
import PackageDescription

/// System libraries come from Debian packages through pkg-config.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, path: "CSupport/shims/\(name)",
                   pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "switchyard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        /// What a tool author links to host tools in a Swift executor.
        .library(name: "ToolSDK", targets: ["ToolSDK"]),
        /// The load generator (bench/README.md).
        .executable(name: "switchyard-bench", targets: ["switchyard-bench"]),
        /// The Redis client's pipelined throughput beside redis-benchmark (bench/redis-client/run.sh).
        .executable(name: "redis-client-bench", targets: ["redis-client-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        systemLibrary("CLibUV", pkgConfig: "libuv", apt: "libuv1-dev"),
        systemLibrary("CZstd", pkgConfig: "libzstd", apt: "libzstd-dev"),
        systemLibrary("CHiredis", pkgConfig: "hiredis", apt: "libhiredis-dev"),
        systemLibrary("COpenSSL", pkgConfig: "openssl", apt: "libssl-dev"),

        // C hot path: buffer pool, output queues, frame header, HTTP head parser, JSON-RPC envelope scanner.
        .target(name: "CSupport", dependencies: ["CLibUV"], path: "CSupport/core",
                cSettings: [.unsafeFlags(["-O2", "-fno-strict-aliasing"])]),

        // Pure targets: no I/O.
        .target(name: "WireProtocol", dependencies: ["CSupport", "CZstd", "MCPCore"], swiftSettings: strict),
        .target(name: "MCPCore", dependencies: ["CSupport"], swiftSettings: strict),
        // JSON Schema 2020-12: compiled once, instances validated as bytes (README, "Argument validation").
        .target(name: "SchemaValidation", dependencies: ["MCPCore", "CSupport"], swiftSettings: strict),

        // Identity and access: principals, JWT and JWKS, API keys, policy, rate-limit buckets and the
        // audit chain; OpenSSL for signatures and hashes, no sockets (README.md, "Security").
        .target(name: "Security", dependencies: ["MCPCore", "CSupport", "COpenSSL", "CRateLimit"], swiftSettings: strict),
        // Rate-limit buckets in memory shared by every front (lock-free, C11 atomics).
        .target(name: "CRateLimit", path: "CSupport/ratelimit"),

        // TLS on the streams (README.md, "TLS"): the OpenSSL connection over the caller's buffers in C,
        // the ByteStream conformer and contexts in Swift. Kept apart so only what serves TLS links ssl.
        .target(name: "CTLS", dependencies: ["COpenSSL"], path: "CSupport/tls"),
        .target(name: "TLS", dependencies: ["CTLS", "EventLoop", "CSupport", "CLibUV", "COpenSSL", "Security"],
                swiftSettings: strict),

        // libuv wrappers shared by every tier.
        .target(name: "EventLoop", dependencies: ["CSupport", "CLibUV", "WireProtocol", "MCPCore"], swiftSettings: strict),
        // Test doubles for EventLoop's seams (an in-memory ByteStream on a manual clock), linked by
        // test targets only; see Sources/EventLoopTesting/MemoryStream.swift.
        .target(name: "EventLoopTesting", dependencies: ["EventLoop", "CSupport", "CLibUV"], swiftSettings: strict),

        // Redis (README.md, "Redis"): hiredis' async contexts on the libuv loop in C (the adapter,
        // kept apart so only what talks to Redis links hiredis), the client in Swift.
        .target(name: "CRedis", dependencies: ["CHiredis", "CLibUV"], path: "CSupport/redis"),
        .target(name: "Redis", dependencies: ["CRedis", "CHiredis", "CLibUV", "COpenSSL", "EventLoop"], swiftSettings: strict),

        // The tiers. They depend on the pure targets and EventLoop, never on each other.
        .target(name: "FrontTier",
                dependencies: ["EventLoop", "WireProtocol", "MCPCore", "CSupport", "CLibUV", "COpenSSL", "Metrics",
                               "SchemaValidation", "Security", "TLS", "Redis"],
                swiftSettings: strict),
        .target(name: "ToolSDK",
                dependencies: ["EventLoop", "WireProtocol", "MCPCore", "CSupport", "CLibUV", "Metrics"],
                swiftSettings: strict),
        .target(name: "DemoTools", dependencies: ["ToolSDK", "MCPCore", "COpenSSL"], swiftSettings: strict),
        .target(name: "Supervisor", dependencies: ["EventLoop", "WireProtocol", "CLibUV", "Metrics"], swiftSettings: strict),
        // Existing stdio MCP servers pooled behind the fronts (README.md, "Pooling stdio MCP servers"):
        // a bridge executor (ToolSDK's runtime) owning the copies of one upstream (Supervisor's
        // child processes with stdio pipes and restart policy).
        .target(name: "Upstream", dependencies: ["ToolSDK", "Supervisor", "EventLoop", "MCPCore", "WireProtocol", "CLibUV",
                                                 "HTTPClient", "TLS"],
                swiftSettings: strict),
        // An HTTP/1.1 client on the libuv loop (keep-alive pool, chunked bodies, server-sent events,
        // TLS with certificate verification): how a bridge reaches a remote upstream.
        .target(name: "HTTPClient", dependencies: ["EventLoop", "TLS", "CLibUV"], swiftSettings: strict),
        // Shared-memory metrics registry, Prometheus text and status page (no libuv, no I/O but files;
        // MCPCore for FNV1a, the schema hash).
        .target(name: "CMetrics", path: "CSupport/metrics"),
        .target(name: "Metrics", dependencies: ["CMetrics", "MCPCore"], swiftSettings: strict),

        .executableTarget(name: "switchyard",
                          dependencies: ["FrontTier", "ToolSDK", "DemoTools", "Supervisor", "Upstream", "EventLoop", "Security", "MCPCore", "TLS",
                                         "Redis",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: strict),

        // The load generator: MCP Streamable HTTP clients on the same libuv core.
        .target(name: "BenchClient",
                dependencies: ["EventLoop", "MCPCore", "CSupport", "CLibUV", .product(name: "Histogram", package: "hdrhistogram-swift")],
                swiftSettings: strict),
        .executableTarget(name: "switchyard-bench",
                          dependencies: ["BenchClient", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: strict),
        .testTarget(name: "BenchClientTests", dependencies: ["BenchClient"]),
        // The Redis client beside redis-benchmark (bench/redis-client/run.sh).
        .executableTarget(name: "redis-client-bench", dependencies: ["Redis", "EventLoop"], path: "bench/redis-client",
                          exclude: ["run.sh"], swiftSettings: strict),

        .testTarget(name: "CSupportTests", dependencies: ["CSupport", "EventLoop"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "MCPCore"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "CSupport"]),
        .testTarget(name: "MCPCoreTests", dependencies: ["MCPCore", "CSupport"]),
        .testTarget(name: "SecurityTests", dependencies: ["Security", "MCPCore"]),
        .testTarget(name: "SchemaValidationTests", dependencies: ["SchemaValidation", "MCPCore"]),
        .testTarget(name: "FrontTierTests", dependencies: ["FrontTier", "MCPCore", "CSupport", "EventLoopTesting", "Security", "TLS", "Redis"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor"]),
        .testTarget(name: "UpstreamTests", dependencies: ["Upstream", "MCPCore"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "EventLoop", "TLS"]),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "CTLS", "EventLoop", "EventLoopTesting", "CSupport"]),
        .testTarget(name: "ToolSDKTests", dependencies: ["ToolSDK", "DemoTools", "MCPCore"]),
        // Against real redis-server and redis-sentinel processes the tests start (single, ACL,
        // restart, pub/sub, scripts, a three-master cluster, Sentinel failover).
        .testTarget(name: "RedisTests", dependencies: ["Redis", "EventLoop"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "CMetrics"]),
        // libuv handle lifecycle across the tiers, in one process on real sockets: timers, drained
        // connections, cancelled calls, executor and child restarts, counted with uv_walk.
        .testTarget(name: "LifecycleTests",
                    dependencies: ["EventLoop", "EventLoopTesting", "FrontTier", "ToolSDK", "DemoTools", "Supervisor",
                                   "WireProtocol", "MCPCore", "CSupport", "CLibUV"]),
    ],
    swiftLanguageModes: [.v6]
)

// Every module of the server as one library, for the fuzz targets (Fuzz/Package.swift, which
// depends on this package by path): a module added above is fuzzable without touching this list.
// BenchClient is left out (it brings the histogram package and is no server code).
package.products.append(.library(name: "SwitchyardModules", targets: package.targets
    .filter { $0.type == .regular && $0.name != "BenchClient" }.map(\.name)))
