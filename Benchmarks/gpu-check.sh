#!/usr/bin/env bash
# The GPU check: one unattended run on a GPU machine where PyTorch 2.11 (CUDA build) is installed
# and Swift is not, from the portable bundle. Prepare it here, carry it, run it once:
#
#   here:     make bundle && mkdir -p data && cp -r ../shared/data/edn-s4 data/   (both git-ignored)
#   there:    OUT=/some/folder bash Benchmarks/gpu-check.sh      (every result goes under $OUT)
#
# It writes, each step with a time limit so the whole stays under 8 minutes:
#   info.txt          vidpred info (GPUs, driver and runtime versions, bf16)
#   equivalence.txt   CPU vs CUDA, same seed, fp32: a tiny lab model trained 2 epochs on each
#                     (largest weight difference, read back with PyTorch from `vidpred export`),
#                     and the val PSNR of each (a 630-frame generation of each model)
#   speed.txt         the lab model's training frames/s on the CPU and the GPU (same settings),
#                     and PyTorch eager on the GPU (reference/bench_lab.py) for the same sizes
#   pyramid.txt       the pyramid preset on edn-s4 for 3 minutes on the GPU: val and test scores
#   summary.txt       one line per step: ok / FAILED and the figures
# Environment: VIDPRED (default: the newest dist/vidpred-*/vidpred, unpacked), PYTHON (default:
# /opt/torch/.venv/bin/python, else python3), DATA (default: data/edn-s4).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-$( [[ -x /opt/torch/.venv/bin/python ]] && echo /opt/torch/.venv/bin/python || command -v python3 )}"
DATA="${DATA:-data/edn-s4}"
WORK="$OUT/work"
mkdir -p "$WORK"
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }

if [[ -z "${VIDPRED:-}" ]]; then
  archive="$(ls -t dist/vidpred-*-linux-x86_64.tar.gz 2>/dev/null | head -1)"
  [[ -n "$archive" ]] || { summary "FAILED: no dist/vidpred-*.tar.gz (make bundle, and carry dist/)"; exit 1; }
  tar -C "$WORK" -xzf "$archive"
  VIDPRED="$WORK/$(basename "$archive" .tar.gz)/vidpred"
fi
export VIDPRED_PYTHON="$PYTHON"
run() {  # run SECONDS NAME command...: time-limited, output to $OUT/NAME.log
  local limit="$1" name="$2"; shift 2
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
}

# 1. What the machine has.
run 60 info "$VIDPRED" info && cp "$OUT/info.log" "$OUT/info.txt" && summary "info: ok ($(grep -c '^gpu ' "$OUT/info.txt") GPU(s))" \
  || summary "info: FAILED (see info.log)"

# 2. CPU vs CUDA, same seed and settings, fp32.
tiny=(--preset lab --frame-dim 32 --label-dim 16 --noise-dim 12 --decoder-dim 48 --epochs 2 --per-save 0 --batch-size 2
      --train-vi-len 8 --val-vi-len 0 --seed 7 --precision fp32 --lr-schedule constant --data "$DATA" --fast-train --fast-partial 0.1)
equivalent=1
for device in cpu cuda; do
  run 150 "train-$device" "$VIDPRED" train "${tiny[@]}" --device "$device" --out "$WORK/tiny-$device" || equivalent=0
  run 60 "export-$device" "$VIDPRED" export --run "$WORK/tiny-$device" --which last --ckpt "$WORK/tiny-$device.ckpt" || equivalent=0
done
if (( equivalent )); then
  "$PYTHON" - "$WORK/tiny-cpu.ckpt" "$WORK/tiny-cuda.ckpt" "$WORK/tiny-cpu/metrics.jsonl" "$WORK/tiny-cuda/metrics.jsonl" >"$OUT/equivalence.txt" 2>&1 <<'PY'
import json, sys, torch
a = torch.load(sys.argv[1], weights_only=True)["state_dict"]
b = torch.load(sys.argv[2], weights_only=True)["state_dict"]
worst = max(((a[k].float() - b[k].float()).abs().max().item() / (a[k].float().abs().max().item() + 1e-12), k) for k in a)
def val(path):
    rows = [json.loads(line) for line in open(path)]
    return [r["val_psnr"] for r in rows if r.get("event") == "validation" and r.get("epoch", 0) > 0]
print(f"largest relative weight difference after 2 epochs: {worst[0]:.2e} ({worst[1]})")
print(f"val PSNR per epoch, cpu: {val(sys.argv[3])}, cuda: {val(sys.argv[4])}")
PY
  summary "equivalence: $(tr '\n' ';' < "$OUT/equivalence.txt")"
else
  summary "equivalence: FAILED (see train-*.log, export-*.log)"
fi

# 3. Speed: the lab model (full size) in VidPred on CPU and GPU, and PyTorch eager on the GPU.
speed=(--preset lab --epochs 1 --per-save 0 --data "$DATA" --fast-train --fast-partial 0.2 --val-vi-len 30 --precision fp32)
for device in cpu cuda; do
  run 150 "speed-$device" "$VIDPRED" train "${speed[@]}" --device "$device" --out "$WORK/speed-$device" \
    && summary "speed $device: $(grep -o '[0-9.]* frames/s' "$OUT/speed-$device.log" | tail -1)" || summary "speed $device: FAILED or over 150 s (see speed-$device.log)"
done
run 120 pytorch-eager "$PYTHON" reference/bench_lab.py --device cuda --repeats 5 \
  && summary "pytorch eager on cuda: see pytorch-eager.log" || summary "pytorch eager: FAILED (see pytorch-eager.log)"
cat "$OUT"/speed-*.log "$OUT/pytorch-eager.log" > "$OUT/speed.txt" 2>/dev/null

# 4. The pyramid preset on edn-s4, 3 minutes on the GPU, then its val and test scores.
if run 260 pyramid-train "$VIDPRED" train --preset pyramid --data "$DATA" --device cuda --time-budget-minutes 3 --out "$WORK/pyramid" \
   && run 60 pyramid-predict "$VIDPRED" predict --run "$WORK/pyramid" --device cuda \
   && run 60 pyramid-eval "$VIDPRED" eval --run "$WORK/pyramid"; then
  grep -A8 '^video' "$OUT/pyramid-eval.log" > "$OUT/pyramid.txt"
  summary "pyramid on edn-s4, 3 min on cuda: $(grep -E '^(val|test)/0' "$OUT/pyramid.txt" | awk '{print $1, "lab score", $9}' | tr '\n' ';')"
else
  summary "pyramid: FAILED (see pyramid-*.log)"
fi
rm -rf "$WORK"/*/checkpoints "$WORK"/*/predictions   # keep $OUT small: logs, configs, metrics only
