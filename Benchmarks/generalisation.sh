#!/usr/bin/env bash
# Issue 19's ablations: the pyramid preset on ../shared/data/edn-s4 with and without each option
# for footage the model never saw, the same number of epochs each (a cosine schedule over them),
# scored by `vidpred bench quality`: val and test/0 lab scores, their gap, test/0's partial-body
# frames against the others, the label leakage; mean +- sd over the seeds.
#
#   Benchmarks/generalisation.sh [EPOCHS] [SEEDS] [OUT]   (default: 12 epochs, seed 1, runs/generalisation)
#
# 50 epochs of bf16 are about 57 training minutes, the hour of the issue's goal (docs/performance.md,
# "Footage the model never saw": the augmentations gain there, not at 12 epochs).
#
# One run per variant and seed, one at a time (about 14 minutes per bf16 run and 22 per fp32 run
# of 12 epochs on 2 cores). A variant whose folder holds a run of its settings continues it where
# it stopped (a finished one is scored again without training), so an interrupted benchmark
# continues where it stopped (a folder holding a run of other settings, e.g. from before 0.16.0's
# recipe, stops it with an error).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EPOCHS="${1:-12}"
SEEDS="${2:-1}"
OUT="${3:-runs/generalisation}"
BIN="$ROOT/.build/release/vidpred"
[ -x "$BIN" ] || { echo "generalisation: $BIN is missing: run 'make build' first" >&2; exit 1; }

AUGMENT="--set augment_flip=0.5 --set augment_zoom=0.25 --set augment_shift=0.15 --set augment_jitter=0.1"
# name | settings beyond the preset's recipe (previous_frame given since 0.16.0)
VARIANTS=(
  "fp32|"
  "fp32-predicted|--set previous_frame=predicted"
  "fp32-ema-augment|--set ema_decay=0.995 $AUGMENT"
  "fp32-ema-augment-across|--set ema_decay=0.995 $AUGMENT --set augment_shift_x=0.4"
  "bf16|--set precision=bf16"
  "bf16-pose-half|--set precision=bf16 --set pyramid_pose=0,32,64"
  "bf16-augment|--set precision=bf16 $AUGMENT"
  "bf16-ema|--set precision=bf16 --set ema_decay=0.995"
  "bf16-ema-augment|--set precision=bf16 --set ema_decay=0.995 $AUGMENT"
  "bf16-ema-augment-attention|--set precision=bf16 --set ema_decay=0.995 $AUGMENT --set given_attention=2"
  "bf16-composite|--set precision=bf16 --set residual=composite"
)
for variant in "${VARIANTS[@]}"; do
  name="${variant%%|*}"; settings="${variant#*|}"
  echo "== $name: $settings"
  # shellcheck disable=SC2086
  "$BIN" bench quality --presets pyramid --seeds "$SEEDS" --set epochs="$EPOCHS" --minutes 1000 --snapshot-every 1000 \
    --samples 1 $settings --out "$OUT/$name" | sed -n '/^best checkpoint/,/^wrote /{/^wrote /!p}'
done
