"""PyTorch baseline timings of the lab model (reference/lab_model.py), for comparison with the Swift tool.

Measures (default model F=128, L=32, N=12, D=192, images 32x64, random data, fixed seeds):
  train_tf_on / train_tf_off : one training iteration (batch 2, T=16 frames -> 15 steps, forward,
                               one backward, clip_grad_norm_(1.0), Adam(lr=1e-3) step), beta 1,
                               teacher forcing ON / OFF
  rollout_1                  : a 630-frame rollout (629 generated frames) of 1 video, eval mode, no grad
  rollout_5_sequential       : 5 videos one after another (what the lab's test loop does)
  rollout_5_batched          : 5 videos generated together as a batch of 5
Each timing also reports the process's peak resident memory during it (VmHWM, reset before).
Also: train_conv_flops (FlopCounterMode, forward + backward convolutions of one TF-ON iteration)
and matmul_gflops (float32 2048^3 matmul, the machine's roofline).
Each: `--warmup` untimed runs, then `--repeats` timed runs; reports the median (and all) in seconds.

Usage:
  reference/.venv/bin/python reference/bench_lab.py --threads 16 [--repeats 5] [--warmup 1]
      [--device cpu|cuda] [--frames 630] [--skip-rollout] [--skip-train] [--out result.json]
Prints one JSON object on stdout (progress on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_model import VAEModel, count_parameters, rollout, train_step  # noqa: E402

H, W = 32, 64


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def reset_peak_memory():
    """Start a new peak-RSS measurement (Linux: 5 > /proc/self/clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_memory_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def matmul_gflops(dtype=torch.float32, size=2048, repeats=7):
    g = torch.Generator().manual_seed(3)
    a = torch.rand(size, size, generator=g).to(dtype)
    b = torch.rand(size, size, generator=g).to(dtype)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * size ** 3 / statistics.median(times) / 1e9


def conv_flops(fn):
    """Convolution FLOPs (forward + backward) of one call, by PyTorch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return sum(v for k, v in counter.get_flop_counts().get("Global", {}).items() if "conv" in str(k))


def timeit(fn, device, warmup, repeats, name):
    for _ in range(warmup):
        fn()
    sync(device)
    reset_peak_memory()
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
        print(f"[bench] {name} {i + 1}/{repeats}: {times[-1]:.4f} s", file=sys.stderr)
    return {"median_s": statistics.median(times), "min_s": min(times), "all_s": times, "peak_bytes": peak_memory_bytes()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=16)
    ap.add_argument("--frames", type=int, default=630)
    ap.add_argument("--rollout-repeats", type=int, default=None, help="default: --repeats")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-rollout", action="store_true")
    ap.add_argument("--skip-sequential", action="store_true", help="skip rollout_5_sequential (5x rollout_1)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = VAEModel().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator(device=device).manual_seed(1)
    frames = torch.rand(args.batch, args.seq_len, 3, H, W, generator=g, device=device)
    labels = torch.rand(args.batch, args.seq_len, 3, H, W, generator=g, device=device)

    result = {
        "torch": torch.__version__, "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine()),
        "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "parameters": count_parameters(model), "image": [H, W],
        "batch": args.batch, "seq_len": args.seq_len, "frames": args.frames,
        "warmup": args.warmup, "repeats": args.repeats,
    }
    # Rollouts first: the process's peak memory only grows, so they are measured from the baseline.
    if not args.skip_rollout:
        reps = args.rollout_repeats or args.repeats
        T = args.frames
        vid_labels = torch.rand(5, T, 3, H, W, generator=g, device=device)
        firsts = torch.rand(5, 3, H, W, generator=g, device=device)
        zg = torch.Generator(device=device).manual_seed(2)

        def one():
            rollout(model, firsts[0], vid_labels[0], generator=zg)

        def five_seq():
            for v in range(5):
                rollout(model, firsts[v], vid_labels[v], generator=zg)

        def five_batched():
            rollout(model, firsts, vid_labels, generator=zg)

        runs = [("rollout_1", one, 1), ("rollout_5_sequential", five_seq, 5), ("rollout_5_batched", five_batched, 5)]
        if args.skip_sequential:
            runs = [r for r in runs if r[0] != "rollout_5_sequential"]
        # Warm-up: one short (8-frame) rollout of each batch size, not a full one.
        rollout(model, firsts[0], vid_labels[0][:8], generator=zg)
        rollout(model, firsts, vid_labels[:, :8], generator=zg)
        for name, fn, n in runs:
            r = timeit(fn, device, 0, reps, name)
            r["frames_per_s"] = n * (T - 1) / r["median_s"]
            result[name] = r
    if not args.skip_train:
        if device.type == "cpu":
            result["train_conv_flops"] = conv_flops(
                lambda: train_step(model, opt, frames, labels, beta=1.0, teacher_forcing=True))
            result["matmul_gflops"] = matmul_gflops()
        for tf in (True, False):
            name = f"train_tf_{'on' if tf else 'off'}"
            r = timeit(lambda: train_step(model, opt, frames, labels, beta=1.0, teacher_forcing=tf),
                       device, args.warmup, args.repeats, name)
            r["frames_per_s"] = args.batch * (args.seq_len - 1) / r["median_s"]
            result[name] = r
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
