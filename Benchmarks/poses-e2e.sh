#!/usr/bin/env bash
# Issue 16's end-to-end check: is a dataset whose poses VidPred extracted itself as good for
# training as the same split with the dataset's own OpenPose labels?
#
#   Benchmarks/poses-e2e.sh [SEEDS] [EPOCHS]      (default: 3 seeds, 20 epochs each, about 5 min a run)
#
# From ../shared/data/edn-video, two datasets at 64x32 with the same split (the first 700 frames
# train, the last 300 the val video): "extracted" by `make-data video` from the clip alone, and
# "openpose" with --labels labels-256x128 (the dataset's labels). The efficient preset trains on
# each with the same recipe, epochs and seeds (fixed epochs rather than minutes, so the two get the
# same work whatever else the machine does); the best val PSNR of each run is printed, then the
# mean and spread per dataset and the mean difference. Work folder: $E2E_DIR (default
# ${TMPDIR:-/tmp}/vidpred-poses-e2e), kept for inspection.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEEDS="${1:-3}"
EPOCHS="${2:-20}"
VIDEO="$ROOT/../shared/data/edn-video"
WORK="${E2E_DIR:-${TMPDIR:-/tmp}/vidpred-poses-e2e}"
BIN="$ROOT/.build/release/vidpred"
[ -x "$BIN" ] || { echo "poses-e2e: $BIN is missing: run 'make build' first" >&2; exit 1; }
[ -f "$VIDEO/dance-1024x512.mp4" ] || { echo "poses-e2e: $VIDEO/dance-1024x512.mp4 is missing: put ../shared beside the checkout" >&2; exit 1; }

rm -rf "$WORK" && mkdir -p "$WORK"
"$BIN" make-data video --input "$VIDEO/dance-1024x512.mp4" --out "$WORK/data-extracted" --size 64x32 --val-frames 300 | tail -n 3
"$BIN" make-data video --input "$VIDEO/dance-1024x512.mp4" --labels "$VIDEO/labels-256x128" --out "$WORK/data-openpose" --size 64x32 --val-frames 300 | tail -n 3

# The demo's recipe: the pyramid preset at small widths, a constant learning rate, bf16, without
# the augmentations, the weight average and the mirror average (Sources/VidPredCLI/DemoCommand.swift).
RECIPE=(--preset pyramid --pyramid-frame 16,32,64 --pyramid-pose 8,16,32 --reference-sampling window --reference-far 0
        --lr 2e-3 --lr-schedule constant --precision bf16 --epochs "$EPOCHS"
        --augment-flip 0 --augment-zoom 0 --augment-shift 0 --augment-jitter 0 --ema-decay 0 --mirror-average false)
for seed in $(seq 1 "$SEEDS"); do
    for labels in extracted openpose; do
        run="$WORK/run-$labels-$seed"
        "$BIN" train --data "$WORK/data-$labels" --out "$run" --seed "$seed" "${RECIPE[@]}" > "$run.log" 2>&1 \
            || { echo "poses-e2e: training failed, see $run.log" >&2; exit 1; }
        best=$(grep -o 'best val PSNR [0-9.]*' "$run.log" | awk '{print $4}')
        echo "seed $seed  $labels labels  best val PSNR $best dB  ($(grep -o 'epoch [0-9]* done.*, [0-9.]* s,' "$run.log" | tail -n 1 | grep -o '[0-9.]* s,' | tr -d ,) per epoch)"
        echo "$labels $best" >> "$WORK/scores"
    done
done
awk '{ n[$1]++; s[$1] += $2; q[$1] += $2 * $2 }
     END { for (k in n) { m = s[k] / n[k]; printf "%-9s mean %.2f dB, spread (sd) %.2f dB over %d seeds\n", k, m, sqrt(q[k] / n[k] - m * m), n[k] }
           printf "extracted - openpose: %+.2f dB (goal: above -1.00)\n", s["extracted"] / n["extracted"] - s["openpose"] / n["openpose"] }' "$WORK/scores"
