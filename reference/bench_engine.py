"""Python PyTorch counterpart of `vidpred bench engine` (Sources/Torch/Benchmark/EngineBenchmark.swift):
per-op overhead of a one-element addition and one training step of a 3-layer conv autoencoder on
8x3x32x64, medians. Prints one JSON line. Usage: python bench_engine.py [--threads N] [--repeats R]"""
import argparse
import json
import time

import torch
import torch.nn as nn


def median(repeats, body):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    a, b = torch.ones(1), torch.full((1,), 2.0)
    calls = 1000

    def ops():
        for _ in range(calls):
            a + b

    op_seconds = median(args.repeats, ops)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 3, 3, padding=1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=False)
    x = torch.rand(8, 3, 32, 64)

    def step():
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(x), x)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    step_seconds = median(max(args.repeats, 10), step)
    print(json.dumps({"op_us": op_seconds / calls * 1e6, "conv_step_ms": step_seconds * 1e3,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
