#!/usr/bin/env bash
# Issue 16's sizes above 64x32: the efficient preset trained and scored at 128x64 and 256x128 from
# one dance video whose poses VidPred extracts, with three scales and with one or two more (the
# lowest scale then stays at 8x16, where z lives), at equal training minutes.
#
#   Benchmarks/sizes.sh [MINUTES] [VIDEO]     (default: 4 minutes a run; ../shared/data/edn-video's clip)
#
# For each size and depth it prints the training iteration time and peak memory (vidpred bench
# model, batch 2, 16-frame clips, bf16), the training throughput, and the val lab score after
# MINUTES beside the repeat-the-first-frame baseline. The last 300 frames are the val video.
# Work folder: $SIZES_DIR (default ${TMPDIR:-/tmp}/vidpred-sizes), kept for inspection: each run
# folder has its predictions (GIFs) and `vidpred animate --run RUN ...` works on it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES="${1:-4}"
VIDEO="${2:-$ROOT/../shared/data/edn-video/dance-1024x512.mp4}"
WORK="${SIZES_DIR:-${TMPDIR:-/tmp}/vidpred-sizes}"
BIN="$ROOT/.build/release/vidpred"
[ -x "$BIN" ] || { echo "sizes: $BIN is missing: run 'make build' first" >&2; exit 1; }
[ -f "$VIDEO" ] || { echo "sizes: $VIDEO is missing: put ../shared beside the checkout or name a video" >&2; exit 1; }

rm -rf "$WORK" && mkdir -p "$WORK"
# size | scales | frame widths | pose widths
VARIANTS=(
    "128x64 3 16,32,64 8,16,32"
    "128x64 4 16,32,64,128 8,16,32,64"
    "256x128 3 16,32,64 8,16,32"
    "256x128 5 16,32,64,128,128 8,16,32,64,64"
)
RECIPE=(--preset pyramid --reference-sampling window --reference-far 0 --lr 2e-3 --lr-schedule constant --precision bf16
        --epochs 1000 --time-budget-minutes "$MINUTES" --per-save 0)
printf '%-8s %-6s %-18s %-22s %-14s %-10s %s\n' size scales widths "iteration TF on/off" "peak memory" "frames/s" "val lab score (baseline)"
for variant in "${VARIANTS[@]}"; do
    read -r size scales frame pose <<< "$variant"
    width="${size%x*}" height="${size#*x}"
    data="$WORK/data-$size"
    [ -d "$data" ] || "$BIN" make-data video --input "$VIDEO" --out "$data" --size "$size" --val-frames 300 > "$data.log" 2>&1 \
        || { echo "sizes: make-data failed, see $data.log" >&2; exit 1; }
    name="$size-$scales"
    "$BIN" bench model --preset pyramid --size "$size" --pyramid-frame "$frame" --pyramid-pose "$pose" --precision bf16 \
        --repeats 3 --frames 126 --videos 1 > "$WORK/bench-$name.log" 2>&1 || { echo "sizes: bench failed, see $WORK/bench-$name.log" >&2; exit 1; }
    iteration=$(grep -E '^train_tf_(on|off):' "$WORK/bench-$name.log" | awk '{print $3}' | paste -sd/ -)
    memory=$(grep -E '^train_tf_(on|off):' "$WORK/bench-$name.log" | awk '{print $(NF-1)}' | sort -g | tail -n 1)" GB"
    run="$WORK/run-$name"
    "$BIN" train --data "$data" --out "$run" --height "$height" --width "$width" --pyramid-frame "$frame" --pyramid-pose "$pose" \
        "${RECIPE[@]}" > "$run.log" 2>&1 || { echo "sizes: training failed, see $run.log" >&2; exit 1; }
    rate=$(grep -o 'done: .* [0-9.]* frames/s' "$run.log" | tail -n 1 | grep -o '[0-9.]* frames/s' | awk '{print $1}')
    "$BIN" predict --run "$run" > "$run-predict.log" 2>&1 && "$BIN" eval --run "$run" > "$run-eval.log" 2>&1 \
        || { echo "sizes: predict/eval failed, see $run-predict.log and $run-eval.log" >&2; exit 1; }
    score=$(grep '^val (mean' "$run-eval.log" | awk '{printf "%s (%s)", $11, $13}')
    printf '%-8s %-6s %-18s %-22s %-14s %-10s %s\n' "$size" "$scales" "$frame" "$iteration s" "$memory" "$rate" "$score"
done
