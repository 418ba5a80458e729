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
#   speed.txt         `vidpred bench --device cuda` against reference/bench_lab.py (PyTorch eager,
#                     the lab's code) on the same GPU: training iteration, 630-frame generation
#   pyramid.txt       the pyramid preset on edn-s4 for 2.5 minutes on the GPU: val and test scores
#   scale.json        with SCALE=1: `vidpred bench scale` on the host CPUs (1 x all cores, 8 x 2, 1 x 2)
#   summary.txt       one line per step: ok / FAILED and the figures
# STEPS=info,equivalence,speed,pyramid (the default: all four) runs only those named.
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
source Benchmarks/gpu-common.sh   # summary, and VIDPRED from the bundle
want() { [[ ",${STEPS:-info,equivalence,speed,pyramid}," == *",$1,"* ]]; }
export VIDPRED_PYTHON="$PYTHON"
run() {  # run SECONDS NAME command...: time-limited, output to $OUT/NAME.log
  local limit="$1" name="$2"; shift 2
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
}

# 1. What the machine has.
if want info; then
  run 60 info "$VIDPRED" info && cp "$OUT/info.log" "$OUT/info.txt" && summary "info: ok ($(grep -c '^gpu ' "$OUT/info.txt") GPU(s))" \
    || summary "info: FAILED (see info.log)"
fi

# 2. CPU vs CUDA, same seed and settings, fp32.
if want equivalence; then
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
fi

# 3. Speed: `vidpred bench` on the GPU against the lab's code in PyTorch eager on the same GPU
#    (reference/bench_lab.py, run by this machine's torch): training iteration TF ON/OFF,
#    630-frame generation of 1 and 5 videos, ratios in one table.
if want speed; then
  if run 150 pytorch-eager "$PYTHON" reference/bench_lab.py --device cuda --repeats 5 --skip-sequential --out "$WORK/reference.json" \
     && run 200 speed "$VIDPRED" bench --device cuda --repeats 5 --reference-json "$WORK/reference.json" --out "$OUT/speed.json"; then
    cp "$OUT/speed.log" "$OUT/speed.txt"
    summary "speed vs PyTorch eager on cuda: see speed.txt"
  else
    summary "speed: FAILED (see pytorch-eager.log, speed.log)"
  fi
fi

# 4. The pyramid preset on edn-s4, 2.5 minutes on the GPU, then its val and test scores.
if want pyramid; then
  if run 260 pyramid-train "$VIDPRED" train --preset pyramid --data "$DATA" --device cuda --time-budget-minutes 2.5 --out "$WORK/pyramid" \
     && run 60 pyramid-predict "$VIDPRED" predict --run "$WORK/pyramid" --device cuda \
     && run 60 pyramid-eval "$VIDPRED" eval --run "$WORK/pyramid"; then
    grep -A8 '^video' "$OUT/pyramid-eval.log" > "$OUT/pyramid.txt"
    summary "pyramid on edn-s4, 2.5 min on cuda: $(grep -E '^(val|test)/0' "$OUT/pyramid.txt" | awk '{print $1, "lab score", $9}' | tr '\n' ';')"
  else
    summary "pyramid: FAILED (see pyramid-*.log)"
  fi
fi

rm -rf "$WORK"/*/checkpoints "$WORK"/*/predictions   # keep $OUT small: logs, configs, metrics only

# 5. With SCALE=1 (about 3 more minutes): training on the host CPUs with 1 process x 16 threads,
#    8 processes x 2 threads and 1 process x 2 threads (issue 15's 85% goal), from the bundle.
if [[ "${SCALE:-0}" == 1 ]]; then
  if run 240 scale "$VIDPRED" bench scale --processes 1,8 --precision bf16 --seconds 40 --data "$DATA" --out "$WORK/scale" --json "$OUT/scale.json"; then
    summary "scale on $(nproc) host cores: $(grep -E '^ +[0-9]+ +[0-9]+ ' "$OUT/scale.log" | tr -s ' ' | tr '\n' ';')"
  else
    summary "scale: FAILED (see scale.log)"
  fi
fi
