#!/usr/bin/env bash
# Does bfloat16 training cost quality? The lab model trained for the same number of steps in
# float32 and in bfloat16 (same seed, so the same windows, teacher-forcing coins and noise), then
# both scored with the lab's score on ../shared/data/edn-s4's val video and test video 0
# (z ~ N(0, I), noise seed 0). Issue 6 asks for the two within 0.2 dB.
#
# Usage: bash Benchmarks/bf16-quality.sh [EPOCHS (default 3)] [OUT (default runs/precision)] [SEED ...(default 1)]
# Each seed is one pair of runs (OUT/seed-S/fp32 and OUT/seed-S/bf16). With several seeds it also
# prints the mean bf16 - fp32 difference, its standard error, and the spread of fp32 itself across
# seeds: a few epochs of the lab model are noisy, and one pair cannot resolve 0.2 dB. Run again with
# more EPOCHS and the same OUT, the pairs continue from their last checkpoints.
# Recipe: the lab's network with the lab recipe that trained best here (teacher forcing off,
# beta 1 without annealing, constant lr 1e-3). A finished run is not retrained and a scored run
# not scored again. Needs a quiet machine: about 30 minutes per seed for 3 epochs on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EPOCHS="${1:-3}"
OUT="${2:-runs/precision}"
shift $(( $# < 2 ? $# : 2 ))
SEEDS=("${@:-1}")
DATA=../shared/data/edn-s4
BIN="${VIDPRED_BIN:-.build/release/vidpred}"

[[ -d "$DATA" ]] || { echo "bf16-quality: $DATA is missing (the real sample sits beside the repository)" >&2; exit 1; }
[[ -x "$BIN" ]] || { echo "bf16-quality: build first: make build (or swift build -c release --product vidpred)" >&2; exit 1; }
command -v jq > /dev/null || { echo "bf16-quality: needs jq (apt-get install jq) to read eval.json" >&2; exit 1; }

score() { jq -r --arg v "$2" '.videos[] | select(.split + "/" + .video == $v) | .mean.lab_score' "$1/eval.json"; }

rows=()
for seed in "${SEEDS[@]}"; do
  for precision in fp32 bf16; do
    run="$OUT/seed-$seed/$precision"
    if [[ ! -f "$run/checkpoints/last.safetensors" ]]; then
      "$BIN" train --data "$DATA" --out "$run" --precision "$precision" --epochs "$EPOCHS" --seed "$seed" \
        --tfr 0 --kl-anneal-type None --lr-schedule constant --lr 1e-3 --val-every "$EPOCHS" --per-save 0
    elif (( $(jq -s '[.[] | select(.event == "epoch") | .epoch] | unique | length' "$run/metrics.jsonl") < EPOCHS )); then
      # A shorter or interrupted run continues to EPOCHS from its last checkpoint (bit-exact resume:
      # the same as training from scratch). Counted from the epochs it logged: an interrupted
      # resume has already written the new length into config.json.
      "$BIN" train --resume "$run" --data "$DATA" --epochs "$EPOCHS"
    fi
    if [[ ! -f "$run/eval.json" || "$run/eval.json" -ot "$run/checkpoints/last.safetensors" ]]; then
      "$BIN" predict --run "$run" --data "$DATA" --which last --seed 0 > /dev/null
      "$BIN" eval --run "$run" > "$run/eval.txt"
    fi
  done
  f="$OUT/seed-$seed/fp32"; b="$OUT/seed-$seed/bf16"
  rows+=("$seed $(score "$f" val/0) $(score "$b" val/0) $(score "$f" test/0) $(score "$b" test/0)")
done

echo
echo "lab scores after $EPOCHS epochs (dB): seed, val fp32 / bf16 / bf16 - fp32, test/0 fp32 / bf16 / bf16 - fp32"
printf '%s\n' "${rows[@]}" | awk '
  { printf "seed %s  val %.2f / %.2f / %+.2f   test/0 %.2f / %.2f / %+.2f\n", $1, $2, $3, $3 - $2, $4, $5, $5 - $4
    n++; dv[n] = $3 - $2; dt[n] = $5 - $4; fv[n] = $2; ft[n] = $4 }
  function mean(a,   i, s) { s = 0; for (i = 1; i <= n; i++) s += a[i]; return s / n }
  function sd(a,   i, m, s) { m = mean(a); s = 0; for (i = 1; i <= n; i++) s += (a[i] - m) ^ 2; return sqrt(s / (n - 1)) }
  END { if (n < 2) exit
    printf "mean bf16 - fp32 over %d seeds: val %+.2f dB (standard error %.2f), test/0 %+.2f dB (standard error %.2f)\n", n, mean(dv), sd(dv) / sqrt(n), mean(dt), sd(dt) / sqrt(n)
    printf "fp32 alone across seeds: val %.2f +- %.2f dB, test/0 %.2f +- %.2f dB (mean +- standard deviation)\n", mean(fv), sd(fv), mean(ft), sd(ft) }'
