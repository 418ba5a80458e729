#!/usr/bin/env bash
# Speed of the data layer (VidPredData): decoding the real sample (one thread vs all cores),
# generating synthetic data, encoding a GIF. Prints DataBenchmark.run's report.
#
#   Benchmarks/data-bench.sh [SAMPLE_DIR]     (default: ../shared/data/edn-s4 next to the repo)
#
# It builds only VidPredData (no libtorch): a small SwiftPM package in $DATA_BENCH_DIR (default
# ${TMPDIR:-/tmp}/vidpred-data-bench, kept for fast rebuilds) links Sources/CPNG and
# Sources/VidPredData and runs a one-line executable in release mode.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAMPLE="${1:-$ROOT/../shared/data/edn-s4}"
WORK="${DATA_BENCH_DIR:-${TMPDIR:-/tmp}/vidpred-data-bench}"

mkdir -p "$WORK/Sources/data-bench"
ln -sfn "$ROOT/Sources/CPNG" "$WORK/Sources/CPNG"
ln -sfn "$ROOT/Sources/VidPredData" "$WORK/Sources/VidPredData"
cat > "$WORK/Package.swift" <<'SWIFT'
// swift-tools-version: 6.0
import PackageDescription
let package = Package(
    name: "VidPredDataBench",
    targets: [
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "VidPredData", dependencies: ["CPNG"], path: "Sources/VidPredData"),
        .executableTarget(name: "data-bench", dependencies: ["VidPredData"], path: "Sources/data-bench"),
    ]
)
SWIFT
cat > "$WORK/Sources/data-bench/main.swift" <<'SWIFT'
import Foundation
import VidPredData
let sample = CommandLine.arguments.count > 1 ? URL(fileURLWithPath: CommandLine.arguments[1]) : nil
print(DataBenchmark.run(sample: sample))
SWIFT

swift build -c release --package-path "$WORK" --product data-bench >&2
"$WORK/.build/release/data-bench" "$SAMPLE"
