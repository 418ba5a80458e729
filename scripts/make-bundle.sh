#!/usr/bin/env bash
# Builds the portable bundle: dist/vidpred-VERSION-linux-x86_64.tar.gz, whose top folder holds
#   vidpred          the launcher (finds libtorch: LIBTORCH, else the torch of python3)
#   bin/vidpred      the binary, Swift runtime and Foundation linked in statically
#   lib/             what it needs besides libtorch and the C/C++ runtime (libpng16)
#   TORCH_VERSION    the libtorch version it was built against (the launcher checks it)
#   README.txt
# No Swift toolchain is needed where it runs: only glibc, libstdc++, zlib and a torch install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say()  { echo "[bundle] $*"; }
fail() { echo "[bundle] ERROR: $*" >&2; exit 1; }

VERSION="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/VidPred/Training/RunManifest.swift)"
TORCH_VERSION="$(sed -n 's/^TORCH_VERSION="\(.*\)"/\1/p' scripts/setup.sh)"
[[ -n "$VERSION" && -n "$TORCH_VERSION" ]] || fail "cannot read the VidPred or torch version"
NAME="vidpred-$VERSION-linux-x86_64"
BUILD=.build-bundle

say "building $NAME (static Swift runtime) in $BUILD"
swift build -c release --static-swift-stdlib --product vidpred --build-path "$BUILD" 2>&1 | grep -v '^\[' || true
BIN="$BUILD/release/vidpred"
[[ -x "$BIN" ]] || fail "the build made no $BIN"
swift_needed=$(readelf -d "$BIN" | grep NEEDED | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_Foundation' || true)
[[ -z "$swift_needed" ]] || fail "$BIN still needs Swift runtime libraries: $swift_needed"

STAGE="dist/$NAME"
rm -rf "$STAGE" "dist/$NAME.tar.gz"
mkdir -p "$STAGE/bin" "$STAGE/lib"
strip -o "$STAGE/bin/vidpred" "$BIN"
cp scripts/bundle/vidpred "$STAGE/vidpred"
chmod +x "$STAGE/vidpred" "$STAGE/bin/vidpred"
echo "$TORCH_VERSION" > "$STAGE/TORCH_VERSION"
png="$(ldd "$BIN" | awk '/libpng16\.so/ {print $3; exit}')"
[[ -f "$png" ]] || fail "libpng16 not found (scripts/setup.sh installs libpng-dev)"
cp -L "$png" "$STAGE/lib/"
cat > "$STAGE/README.txt" <<TXT
VidPred $VERSION for Linux x86_64 (glibc), built against libtorch $TORCH_VERSION.

  ./vidpred --help
  ./vidpred info                   # libtorch, threads, GPUs

The launcher finds libtorch: LIBTORCH=/path/to/torch (a folder with lib/libtorch_cpu.so), else
the torch of python3 (VIDPRED_PYTHON=/path/to/python to choose another). It must be torch
$TORCH_VERSION: pip install torch==$TORCH_VERSION (its CUDA build works on CPUs and GPUs).
TXT
tar -C dist -czf "dist/$NAME.tar.gz" "$NAME"
size=$(stat -c %s "dist/$NAME.tar.gz")
say "dist/$NAME.tar.gz: $((size / 1024 / 1024)) MB (binary $(( $(stat -c %s "$STAGE/bin/vidpred") / 1024 / 1024 )) MB unpacked)"
(( size <= 40 * 1024 * 1024 )) || fail "the bundle is over 40 MB"
