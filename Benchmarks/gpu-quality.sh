#!/usr/bin/env bash
# Issue 19's recipes on one GPU: every variant x seed of `vidpred bench quality` (the pyramid preset,
# a fixed number of epochs, best checkpoint by val, one sample from the prior mean) as its own
# process, all at once, so that a 3-seed comparison that takes a day of a 2-core CPU fits in
# minutes. Prepare and carry it as Benchmarks/gpu-check.sh says (the bundle and the data), then:
#
#   OUT=/some/folder bash Benchmarks/gpu-quality.sh
#
# It first checks that CUDA trains at all (a tiny model, 1 epoch) and stops there if not.
# Writes under $OUT: summary.txt (each run and the mean +- sd per variant), logs.tar.gz (each run's log,
# quality.json, metrics.jsonl and per-frame curves; no weights).
# Environment: VIDPRED (default: the newest dist/vidpred-*.tar.gz, unpacked), DATA (default:
# data/edn-s4), DEVICE (cuda), PRECISION (bf16), EPOCHS (60: the recipe's, 51-54 training minutes in bf16
# on a 2-core AVX512-BF16 machine), SEEDS (1,2,3), MINUTES (training minutes, a cap per run: 6),
# VARIANTS (names below, comma-separated; default all but no-mirror, which trains the recipe's
# model again only to score its plain rollouts).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${OUT:?set OUT to the folder for the results}"
DATA="${DATA:-data/edn-s4}" DEVICE="${DEVICE:-cuda}" PRECISION="${PRECISION:-bf16}"
EPOCHS="${EPOCHS:-60}" SEEDS="${SEEDS:-1,2,3}" MINUTES="${MINUTES:-6}"
WORK="$OUT/work"
mkdir -p "$WORK" "$OUT/logs"
source Benchmarks/gpu-common.sh   # summary, and VIDPRED from the bundle
pack_logs() { tar -C "$OUT" -czf "$OUT/logs.tar.gz" logs && rm -rf "$OUT/logs" "$WORK"; }

# The variants: a name and its settings beyond the pyramid's 0.24.0 recipe (previous_frame given,
# align_given true, reference_far 0.5, ema_decay 0.995, augment flip 0.5, zoom 0.25, shift 0.15,
# shift_x 0.4, jitter 0.1, scored with mirror_average true; PRECISION below). `predicted` needs
# align_given false; `near` is the 0.21.0 recipe (no far given frames); `flow` adds the learned flow
# after the sideways move (0.23.0); `no-mirror` scores the plain rollouts (the 0.22.0 recipe).
declare -A settings=(
  [recipe]=""
  [no-augment]="augment_flip=0 augment_zoom=0 augment_shift=0 augment_shift_x=none augment_jitter=0 mirror_average=false"
  [predicted]="previous_frame=predicted align_given=false"
  [wide]="augment_zoom=0.4 augment_shift=0.25"
  [mid-stage]="augment_shift_x=none"
  [near]="reference_far=0"
  [no-align]="align_given=false"
  [flow]="align_flow=true"
  [no-mirror]="mirror_average=false"
)
order=(recipe no-augment predicted wide mid-stage near no-align flow)  # the default; no-mirror on request
IFS=, read -r -a chosen <<< "${VARIANTS:-$(IFS=,; echo "${order[*]}")}"
IFS=, read -r -a seeds <<< "$SEEDS"

# 1. Does CUDA train at all? A tiny pyramid, one short epoch; stop here if not. With MPS=1 (the
#    default on a GPU) NVIDIA's multi-process service lets the runs' small kernels share the GPU at
#    once instead of taking turns; where it does not start or breaks training, the runs go without.
"$VIDPRED" info > "$OUT/info.txt" 2>&1
smoke() {  # smoke LOG-SUFFIX: one short epoch in $PRECISION
  rm -rf "$WORK/smoke"
  timeout 90 "$VIDPRED" train --preset pyramid --data "$DATA" --device "$DEVICE" --precision "$PRECISION" --epochs 1 \
    --train-vi-len 8 --val-vi-len 0 --fast-train --fast-partial 0.05 --out "$WORK/smoke" > "$OUT/logs/smoke$1.log" 2>&1
}
mps=0
if [[ "$DEVICE" == cuda* && "${MPS:-1}" == 1 ]] && command -v nvidia-cuda-mps-control > /dev/null; then
  export CUDA_MPS_PIPE_DIRECTORY="$WORK/mps-pipe" CUDA_MPS_LOG_DIRECTORY="$WORK/mps-log"
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if nvidia-cuda-mps-control -d && smoke -mps; then mps=1; else
    echo quit | nvidia-cuda-mps-control 2> /dev/null; unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    summary "MPS: not used (logs/smoke-mps.log)"
  fi
fi
if (( ! mps )) && ! smoke ""; then
  if [[ "$PRECISION" != fp32 ]] && PRECISION=fp32 smoke -fp32; then
    summary "smoke: $PRECISION does not train on $DEVICE (logs/smoke.log): every run uses fp32"
    PRECISION=fp32
  else
    summary "smoke: FAILED, $DEVICE does not train (logs/smoke*.log):"
    tail -20 "$OUT/logs/smoke.log" | tee -a "$OUT/summary.txt"
    pack_logs
    exit 1
  fi
fi
summary "smoke: $DEVICE trains in $PRECISION (MPS $mps; $(grep -ho '[0-9.]* frames/s' "$OUT"/logs/smoke*.log | tail -1))"

# 2. Every variant x seed at once, each process on one CPU thread.
for variant in "${chosen[@]}"; do
  [[ -v "settings[$variant]" ]] || { summary "unknown variant $variant (known: ${order[*]} no-mirror)"; exit 1; }
  sets=()
  for s in ${settings[$variant]} precision="$PRECISION" epochs="$EPOCHS"; do sets+=(--set "$s"); done
  for seed in "${seeds[@]}"; do
    timeout $(( ${MINUTES%.*} * 60 + 120 )) "$VIDPRED" bench quality --device "$DEVICE" --data "$DATA" --presets pyramid \
      --seeds "$seed" "${sets[@]}" --minutes "$MINUTES" --snapshot-every 1000 --samples 1 --threads 1 \
      --out "$WORK/$variant-seed$seed" > "$OUT/logs/$variant-seed$seed.log" 2>&1 &
  done
done
wait

# 3. Per variant: each run and the mean +- sd over its seeds, as `vidpred bench quality --collect`
#    prints them (read from the runs' quality.json and logs; nothing is scored again).
for variant in "${chosen[@]}"; do
  finished=()
  for seed in "${seeds[@]}"; do
    work="$WORK/$variant-seed$seed" run="$WORK/$variant-seed$seed/pyramid-seed$seed"
    if [[ -f "$work/quality.json" ]]; then finished+=("$work"); else summary "$variant seed $seed: FAILED (logs/$variant-seed$seed.log)"; fi
    for f in metrics.jsonl quality-curves.csv ../quality.json; do cp "$run/$f" "$OUT/logs/$variant-seed$seed.${f#../}" 2> /dev/null; done
  done
  (( ${#finished[@]} )) || continue
  summary "$variant (settings: ${settings[$variant]} precision=$PRECISION epochs=$EPOCHS):"
  summary "$("$VIDPRED" bench quality --data "$DATA" --collect "$(IFS=,; echo "${finished[*]}")" 2>&1)"
done
(( mps )) && echo quit | nvidia-cuda-mps-control
pack_logs
