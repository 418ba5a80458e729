#!/usr/bin/env bash
# Does bfloat16 training cost quality? The lab model trained for the same number of steps in
# float32 and in bfloat16 (same seed, so the same windows, teacher-forcing coins and noise), then
# both scored with the lab's score on ../shared/data/edn-s4's val video and test video 0
# (z ~ N(0, I), noise seed 0). Issue 6 asks for the two within 0.2 dB.
#
# Usage: bash Benchmarks/bf16-quality.sh [EPOCHS (default 4)] [OUT (default runs/precision)] [SEED (default 1)]
# Recipe: the lab's network with the lab recipe that trained best here (teacher forcing off,
# beta 1 without annealing, constant lr 1e-3). A finished run is scored again, not retrained.
# Needs a quiet machine (about 12 minutes for 4 epochs on 2 cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EPOCHS="${1:-4}"
OUT="${2:-runs/precision}"
SEED="${3:-1}"
DATA=../shared/data/edn-s4
BIN=.build/release/vidpred

[[ -d "$DATA" ]] || { echo "bf16-quality: $DATA is missing (the real sample sits beside the repository)" >&2; exit 1; }
[[ -x "$BIN" ]] || { echo "bf16-quality: build first: make build (or swift build -c release --product vidpred)" >&2; exit 1; }

for precision in fp32 bf16; do
  run="$OUT/$precision"
  if [[ ! -f "$run/checkpoints/last.safetensors" ]]; then
    "$BIN" train --data "$DATA" --out "$run" --precision "$precision" --epochs "$EPOCHS" --seed "$SEED" \
      --tfr 0 --kl-anneal-type None --lr-schedule constant --lr 1e-3 --val-every "$EPOCHS" --per-save 0
  fi
  "$BIN" predict --run "$run" --data "$DATA" --which last --seed 0 > /dev/null
  "$BIN" eval --run "$run" > "$run/eval.txt"
  echo "== $precision after $EPOCHS epochs"
  cat "$run/eval.txt"
done

if command -v jq > /dev/null; then
  score() { jq -r --arg v "$2" '.videos[] | select(.split + "/" + .video == $v) | .mean.lab_score' "$OUT/$1/eval.json"; }
  echo
  for video in val/0 test/0; do
    f=$(score fp32 "$video"); b=$(score bf16 "$video")
    awk -v v="$video" -v f="$f" -v b="$b" 'BEGIN { printf "%s lab score: fp32 %.2f dB, bf16 %.2f dB, bf16 - fp32 = %+.2f dB\n", v, f, b, b - f }'
  done
fi
