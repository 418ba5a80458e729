#!/usr/bin/env bash
# The bundle test (part of `make test`): makes the bundle, unpacks it into an empty folder and runs
# it in a clean environment (env -i: no Swift toolchain on PATH or in LD_LIBRARY_PATH), where it
# must load no library of the Swift toolchain, train a tiny model and generate from it; the
# launcher's python3 path and its version check are tested with stand-in pythons. Exits non-zero
# on the first failure, naming it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say()  { echo "[bundle test] $*"; }
fail() { echo "[bundle test] FAILED: $*" >&2; exit 1; }

bash scripts/make-bundle.sh
archive="$(ls -t dist/vidpred-*-linux-x86_64.tar.gz | head -1)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar -C "$WORK" -xzf "$archive"
top="$(ls "$WORK")"
APP="$WORK/$top/vidpred"
[[ -x "$APP" ]] || fail "$archive has no executable $top/vidpred"
TORCH="$ROOT/.deps/site/torch"
clean() { env -i PATH=/usr/bin:/bin HOME="$WORK" XDG_CACHE_HOME="$WORK/cache" "$@"; }

# 1. No library from the Swift toolchain is loaded (LD_DEBUG lists every library the loader opens).
clean LIBTORCH="$TORCH" LD_DEBUG=libs "$APP" --version >"$WORK/version.txt" 2>"$WORK/loader.txt" || { cat "$WORK/loader.txt" | tail -20; fail "--version did not run"; }
if grep -E 'calling init: .*(libswift|libFoundation|libdispatch|/swift/)' "$WORK/loader.txt"; then fail "the bundle loaded Swift toolchain libraries (above)"; fi
grep -q "calling init: .*libtorch_cpu.so" "$WORK/loader.txt" || fail "libtorch_cpu.so was not loaded from LIBTORCH"
say "runs without the Swift toolchain: $(head -1 "$WORK/version.txt")"

# 2. It works: info, a tiny dataset, one epoch of training, a prediction.
clean LIBTORCH="$TORCH" "$APP" info >/dev/null || fail "vidpred info"
clean LIBTORCH="$TORCH" "$APP" make-data synthetic --out "$WORK/data" --train-frames 16 --val-videos 1 --test-videos 0 \
  --video-length 6 --height 8 --width 16 >/dev/null || fail "make-data synthetic"
clean LIBTORCH="$TORCH" "$APP" train --data "$WORK/data" --out "$WORK/run" --epochs 1 --frame-dim 16 --label-dim 8 --noise-dim 4 \
  --decoder-dim 24 --height 8 --width 16 --train-vi-len 4 --val-vi-len 4 --threads 1 >"$WORK/train.txt" 2>&1 \
  || { tail -5 "$WORK/train.txt"; fail "train"; }
clean LIBTORCH="$TORCH" "$APP" predict --run "$WORK/run" --splits val >/dev/null || fail "predict"
[[ -f "$WORK/run/predictions/val/0/side_by_side.gif" ]] || fail "predict wrote no GIF"
say "trains and predicts"

# 3. Without LIBTORCH the torch of python3 is used, and only the version it was built against.
mkdir -p "$WORK/py"
printf '#!/bin/sh\necho "%s"\necho "%s"\n' "$TORCH" "$(cat "$WORK/$top/TORCH_VERSION")+cu130" > "$WORK/py/python3"
chmod +x "$WORK/py/python3"
env -i PATH="$WORK/py:/usr/bin:/bin" HOME="$WORK" "$APP" --version >/dev/null || fail "libtorch through python3"
printf '#!/bin/sh\necho "%s"\necho "2.9.1"\n' "$TORCH" > "$WORK/py/python3"
if message=$(env -i PATH="$WORK/py:/usr/bin:/bin" HOME="$WORK" "$APP" --version 2>&1); then fail "a torch of another version was accepted"; fi
[[ "$message" == *"is 2.9.1, but this VidPred needs libtorch"* ]] || fail "unclear message for a torch of another version: $message"
if message=$(clean "$APP" --version 2>&1); then fail "ran without any libtorch"; fi
[[ "$message" == *"no libtorch found: set LIBTORCH"* ]] || fail "unclear message without libtorch: $message"
say "finds libtorch through python3, refuses other versions, says what to set: ok"
