// swift-tools-version: 6.0
// VidPred: conditional video prediction in Swift on libtorch.
//
// libtorch is found the way tch-rs finds it: the LIBTORCH environment variable (a C++ distribution
// or a Python install's `torch/` folder), else the copy `scripts/setup.sh` extracts into
// `.deps/site/torch`, else the system (`/usr`, Debian's libtorch-dev). SwiftPM re-reads this
// manifest when LIBTORCH changes.
import Foundation
import PackageDescription

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let libtorch: String = {
    if let env = ProcessInfo.processInfo.environment["LIBTORCH"], !env.isEmpty { return env }
    let local = packageRoot + "/.deps/site/torch"
    if FileManager.default.fileExists(atPath: local + "/lib/libtorch_cpu.so") { return local }
    return "/usr"
}()
let systemTorch = libtorch == "/usr"

var torchCxxFlags: [CXXSetting] = [.unsafeFlags(["-std=c++17", "-D_GLIBCXX_USE_CXX11_ABI=1", "-O2", "-Wno-deprecated-declarations"])]
var torchLinkerFlags: [LinkerSetting] = [.linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("dl")]
if !systemTorch {
    torchCxxFlags.append(.unsafeFlags(["-isystem", libtorch + "/include", "-isystem", libtorch + "/include/torch/csrc/api/include"]))
    torchLinkerFlags.append(.unsafeFlags(["-L" + libtorch + "/lib", "-Xlinker", "-rpath", "-Xlinker", libtorch + "/lib"]))
} else {
    // Debian's libtorch-dev puts the C++ API headers here; never add /usr/include itself.
    torchCxxFlags.append(.unsafeFlags(["-isystem", "/usr/include/torch/csrc/api/include"]))
}

let strict: [SwiftSetting] = [.enableUpcomingFeature("StrictConcurrency")]

let package = Package(
    name: "VidPred",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vidpred", targets: ["VidPredCLI"]),
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "VidPredData", targets: ["VidPredData"]),
        .library(name: "VidPred", targets: ["VidPred"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // The only place with torch headers: a plain C API over libtorch.
        .target(name: "CTorch", cxxSettings: torchCxxFlags, linkerSettings: torchLinkerFlags),
        // libpng from Debian (libpng-dev), as a system library.
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // Engine: Tensor, nn modules, optimizers, schedules, safetensors.
        .target(name: "Torch", dependencies: ["CTorch"], swiftSettings: strict),
        // Data: PNG/GIF codecs, the lab layout, training windows, synthetic dance data, video import.
        .target(name: "VidPredData", dependencies: ["CPNG"], swiftSettings: strict),
        // Model, training and evaluation.
        .target(name: "VidPred", dependencies: ["Torch", "VidPredData"], swiftSettings: strict),
        // Charts, HTML report, submission.csv, comparison tables.
        .target(name: "VidPredReport", dependencies: ["VidPred", "VidPredData"], swiftSettings: strict),
        // The command-line tool `vidpred`: parsing and printing only.
        .executableTarget(
            name: "VidPredCLI",
            dependencies: [
                "Torch", "VidPredData", "VidPred", "VidPredReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict),
        .testTarget(name: "TorchTests", dependencies: ["Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VidPredDataTests", dependencies: ["VidPredData"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VidPredTests", dependencies: ["VidPred", "Torch", "VidPredData"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VidPredReportTests", dependencies: ["VidPredReport", "VidPred", "VidPredData", "Torch"]),
        .testTarget(name: "VidPredCLITests", dependencies: [
            "VidPredCLI", "Torch", "VidPred", "VidPredData", "VidPredReport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    ],
    cxxLanguageStandard: .cxx17
)
