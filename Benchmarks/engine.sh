#!/usr/bin/env bash
# Engine micro-benchmark: VidPred (Swift over the C shim) vs Python PyTorch, same machine, same
# threads, in one run. Prints both and the ratios (>1 means VidPred is faster).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS="${THREADS:-$(nproc)}"
bash "$ROOT/reference/setup.sh" >/dev/null
swift build -c release --package-path "$ROOT" --product vidpred >/dev/null
VIDPRED="$(swift build -c release --package-path "$ROOT" --show-bin-path)/vidpred"
swift_json=$("$VIDPRED" bench engine --json --threads "$THREADS")
python_json=$("$ROOT/reference/.venv/bin/python" "$ROOT/reference/bench_engine.py" --threads "$THREADS")
echo "vidpred: $swift_json"
echo "pytorch: $python_json"
python3 - "$swift_json" "$python_json" <<'PY'
import json, sys
s, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"per-op overhead: {s['op_us']:.2f} us vs {p['op_us']:.2f} us  -> {p['op_us']/s['op_us']:.2f}x")
print(f"conv train step: {s['conv_step_ms']:.2f} ms vs {p['conv_step_ms']:.2f} ms -> {p['conv_step_ms']/s['conv_step_ms']:.2f}x")
PY
