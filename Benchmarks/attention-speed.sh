#!/usr/bin/env bash
# Training speed of `given_attention` 0 / 1 / 2 with the pyramid recipe on ../shared/data/edn-s4:
# 3 epochs each, interleaved over two rounds (a machine's speed drifts over minutes), the training
# frames/s of every epoch, then each setting's median and its ratio to 0. About 20 minutes on 2 cores.
#
#   Benchmarks/attention-speed.sh [OUT]   (default: runs/attention-speed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-runs/attention-speed}"
BIN="$ROOT/.build/release/vidpred"
[ -x "$BIN" ] || { echo "attention-speed: $BIN is missing: run 'make build' first" >&2; exit 1; }
mkdir -p "$OUT"
: > "$OUT/rates"
for round in 1 2; do
  for a in 0 1 2; do
    rm -rf "$OUT/a$a-r$round"
    "$BIN" train --preset pyramid --data "$ROOT/../shared/data/edn-s4" --given-attention "$a" --epochs 3 --val-every 100 \
      --seed 1 --out "$OUT/a$a-r$round" > "$OUT/a$a-r$round.log" 2>&1
    rates=$(grep 'done:' "$OUT/a$a-r$round.log" | sed 's/.*s, \([0-9.]*\) frames.s/\1/' | tr '\n' ' ')
    echo "given_attention $a, round $round: $rates training frames/s"
    for r in $rates; do echo "$a $r" >> "$OUT/rates"; done
  done
done
sort -k1,1n -k2,2n "$OUT/rates" | awk '
  { v[$1, ++n[$1]] = $2 }
  END { for (a = 0; a <= 2; a++) { k = n[a]; m[a] = (k % 2) ? v[a, (k + 1) / 2] : (v[a, k / 2] + v[a, k / 2 + 1]) / 2 }
        for (a = 0; a <= 2; a++) printf "given_attention %d: median %.1f training frames/s, %.3fx of 0\n", a, m[a], m[a] / m[0] }'
