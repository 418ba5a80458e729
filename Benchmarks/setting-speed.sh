#!/usr/bin/env bash
# Training speed of pyramid-recipe settings on ../shared/data/edn-s4: 3 epochs each, interleaved
# over two rounds (a machine's speed drifts over minutes), the training frames/s of every epoch,
# then each setting's median and its ratio to the first (the baseline). Each setting is one
# argument of `vidpred train` options ("" is the recipe itself). About 3.5 minutes per setting and
# round on 2 cores; give the machine to it (another busy process distorts every figure).
#
#   Benchmarks/setting-speed.sh OUT [SETTING...]
#     default: runs/setting-speed "" "--given-attention 1" "--given-attention 2"
#   e.g. Benchmarks/setting-speed.sh runs/align-speed "--align-given false" ""   (align_given's cost: the recipe against the first)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-runs/setting-speed}"
shift || true
if [ $# -eq 0 ]; then set -- "" "--given-attention 1" "--given-attention 2"; fi
BIN="$ROOT/.build/release/vidpred"
[ -x "$BIN" ] || { echo "setting-speed: $BIN is missing: run 'make build' first" >&2; exit 1; }
mkdir -p "$OUT"
: > "$OUT/rates"
settings=("$@")
for round in 1 2; do
  for i in "${!settings[@]}"; do
    rm -rf "$OUT/s$i-r$round"
    # shellcheck disable=SC2086
    "$BIN" train --preset pyramid --data "$ROOT/../shared/data/edn-s4" ${settings[$i]} --epochs 3 --val-every 100 \
      --seed 1 --out "$OUT/s$i-r$round" > "$OUT/s$i-r$round.log" 2>&1
    rates=$(grep 'done:' "$OUT/s$i-r$round.log" | sed 's/.*s, \([0-9.]*\) frames.s/\1/' | tr '\n' ' ')
    echo "[${settings[$i]:-the recipe}], round $round: $rates training frames/s"
    for r in $rates; do echo "$i $r" >> "$OUT/rates"; done
  done
done
for i in "${!settings[@]}"; do
  median=$(awk -v i="$i" '$1 == i { print $2 }' "$OUT/rates" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  [ "$i" -eq 0 ] && base="$median"
  awk -v s="${settings[$i]:-the recipe}" -v m="$median" -v b="$base" 'BEGIN { printf "[%s]: median %.1f training frames/s, %.3fx of the first\n", s, m, m / b }'
done
