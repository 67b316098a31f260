// swift-tools-version: 6.0
// Switchyard's Swift fuzz targets (libFuzzer), apart from the server package so that normal
// builds and `swift test` never see them. Built only by `make fuzz` / `make fuzz-smoke`, with
// `--sanitize fuzzer --sanitize address` and `-enable-testing` (the targets use
// `@testable import` of the server's modules). README.md, "Fuzzing".
//
// Every directory under Targets/ is one target (`Targets/<name>/<name>.swift`, defining
// `LLVMFuzzerTestOneInput` with `@_cdecl`); its seeds are in seeds/<name>/. A new target is one
// file there (the Makefile finds it too; it builds with `--manifest-cache none`, since a cached
// manifest would not see a new directory).
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let names = ((try? FileManager.default.contentsOfDirectory(atPath: here.appendingPathComponent("Targets").path)) ?? [])
    .filter { !$0.hasPrefix(".") }.sorted()
/// The server package, whose identity is the name of its directory.
let serverIdentity = here.deletingLastPathComponent().lastPathComponent
let modules = Target.Dependency.product(name: "SwitchyardModules", package: serverIdentity)

let package = Package(
    name: "switchyard-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [modules], path: "Support"),
    ] + names.map { name in
        .executableTarget(name: "fuzz_\(name)", dependencies: ["FuzzSupport", modules], path: "Targets/\(name)")
    },
    swiftLanguageModes: [.v6]
)
