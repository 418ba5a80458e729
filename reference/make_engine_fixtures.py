"""Numeric fixtures for the tensor engine (Swift TorchTests), made with PyTorch.

Writes (float32, safetensors via safetensors.torch.save_file; scalars are 0-d tensors, shape []):

Tests/TorchTests/Fixtures/layers.safetensors   (torch.manual_seed(0), tensors drawn in this order)
  conv.input          (2,4,6,8)   randn, input of every layer test below
  conv.weight         (6,4,3,3)   randn * 0.3
  conv.bias           (6,)        randn * 0.1
  conv.output         (2,6,6,8)   conv2d(input, weight, bias, stride=1, padding=1)
  conv_sd.weight      (5,4,3,3)   randn * 0.3
  conv_sd.bias        (5,)        randn * 0.1
  conv_sd.output      (2,5,3,4)   conv2d(input, w, b, stride=2, padding=2, dilation=2)
  dw.weight           (4,1,3,3)   randn * 0.3
  dw.bias             (4,)        randn * 0.1
  dw.output           (2,4,6,8)   conv2d(input, w, b, padding=1, groups=4)
  convT.weight        (4,3,4,4)   randn * 0.3, layout [in, out, kh, kw]
  convT.bias          (3,)        randn * 0.1
  convT.output        (2,3,12,16) conv_transpose2d(input, w, b, stride=2, padding=1)
  reflect.output      (2,4,12,14) F.pad(input, (3,3,3,3), mode='reflect')
  bn.weight           (4,)        1 + 0.2*randn  (gamma)
  bn.bias             (4,)        0.2*randn      (beta)
  bn.train_output     (2,4,6,8)   nn.BatchNorm2d(4, eps=1e-5, momentum=0.1) in train mode on input
                                  (batch statistics, biased variance for normalisation)
  bn.running_mean     (4,)        running mean after that one train call (starts at 0)
  bn.running_var      (4,)        running var after that one train call (starts at 1; unbiased
                                  batch variance enters the running average)
  bn.eval_output      (2,4,6,8)   eval-mode output on input using those running stats
  act.leaky001        (2,4,6,8)   F.leaky_relu(input, 0.01)
  act.leaky01         (2,4,6,8)   F.leaky_relu(input, 0.1)
  act.sigmoid         (2,4,6,8)   torch.sigmoid(input)
  act.tanh            (2,4,6,8)   torch.tanh(input)
  act.relu            (2,4,6,8)   F.relu(input)
  up.nearest          (2,4,12,16) F.interpolate(input, scale_factor=2, mode='nearest')
  up.bilinear         (2,4,12,16) F.interpolate(input, scale_factor=2, mode='bilinear', align_corners=False)
  up.bilinear_ac      (2,4,12,16) same with align_corners=True
  stack: input -> c1 = conv3x3(4->8, padding 1) -> leaky_relu 0.01 -> dw = depthwise conv3x3(8, padding 1,
         groups 8) -> c2 = conv1x1(8->3) -> sigmoid
  stack.c1.weight     (8,4,3,3)   randn * 0.3
  stack.c1.bias       (8,)        randn * 0.1
  stack.dw.weight     (8,1,3,3)   randn * 0.3
  stack.dw.bias       (8,)        randn * 0.1
  stack.c2.weight     (3,8,1,1)   randn * 0.3
  stack.c2.bias       (3,)        randn * 0.1
  stack.output        (2,3,6,8)   output of the stack
  stack.loss          ()          mean(output^2), 0-d
  stack.grad.c1.weight, stack.grad.c1.bias, stack.grad.dw.weight, stack.grad.dw.bias,
  stack.grad.c2.weight, stack.grad.c2.bias   gradients of stack.loss (same shapes as the weights)
  stack.grad.input    (2,4,6,8)   gradient of stack.loss w.r.t. conv.input

Tests/TorchTests/Fixtures/adam.safetensors   (torch.manual_seed(1))
  adam.w0             (5,3)       randn, initial weight
  adam.x              (8,5)       randn
  adam.y              (8,3)       randn
  problem: loss(w) = mean((x @ w - y)^2); each step: zero grad, loss, backward,
           clip_grad_norm_([w], 1.0) (except *_noclip), optimizer.step()
  adam.trajectory     (10,5,3)    w after each of 10 steps of Adam(lr=0.1, betas=(0.9,0.999), eps=1e-8), clipped
  adam.losses         (10,)       loss at the start of each step (before that step's update)
  adam.grad_norms     (10,)       total grad norm before clipping (clip_grad_norm_'s return value)
  adamw.trajectory    (10,5,3)    same with AdamW(lr=0.1, betas=(0.9,0.999), eps=1e-8, weight_decay=0.01), clipped
  adamw.losses        (10,)
  adam_noclip.trajectory (10,5,3) Adam(lr=0.1) without clipping
  adam_noclip.losses  (10,)

File metadata: one key "info" = "generator=...; torch=<version>".
Deterministic (byte-identical on re-run): fixed seeds, torch.set_num_threads(1), deterministic algorithms. Run:
  reference/.venv/bin/python reference/make_engine_fixtures.py
"""
from __future__ import annotations

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "TorchTests", "Fixtures")
MAX_BYTES = 300 * 1024


def _prep(t: dict) -> dict:
    out = {}
    for k, v in t.items():
        v = v.detach()
        if v.dtype != torch.float32:
            v = v.to(torch.float32)
        out[k] = v.contiguous().clone()
    return out


def save(tensors: dict, name: str) -> str:
    path = os.path.join(OUT_DIR, name)
    os.makedirs(OUT_DIR, exist_ok=True)
    # ONE metadata key: safetensors writes the metadata map in random (hash) order, so several
    # keys would make the bytes differ from run to run.
    save_file(_prep(tensors), path,
              metadata={"info": f"generator=reference/make_engine_fixtures.py; torch={torch.__version__}"})
    os.chmod(path, 0o644)
    size = os.path.getsize(path)
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(tensors)} tensors, {size:,} bytes")
    for k, v in tensors.items():
        print(f"  {k:28s} {tuple(v.shape)}")
    if size > MAX_BYTES:
        sys.exit(f"ERROR: {path} is {size} bytes > {MAX_BYTES}")
    return path


def make_layers() -> dict:
    torch.manual_seed(0)
    t = {}
    x = torch.randn(2, 4, 6, 8)
    t["conv.input"] = x

    w = torch.randn(6, 4, 3, 3) * 0.3
    b = torch.randn(6) * 0.1
    t["conv.weight"], t["conv.bias"] = w, b
    t["conv.output"] = F.conv2d(x, w, b, stride=1, padding=1)

    w = torch.randn(5, 4, 3, 3) * 0.3
    b = torch.randn(5) * 0.1
    t["conv_sd.weight"], t["conv_sd.bias"] = w, b
    t["conv_sd.output"] = F.conv2d(x, w, b, stride=2, padding=2, dilation=2)

    w = torch.randn(4, 1, 3, 3) * 0.3
    b = torch.randn(4) * 0.1
    t["dw.weight"], t["dw.bias"] = w, b
    t["dw.output"] = F.conv2d(x, w, b, padding=1, groups=4)

    w = torch.randn(4, 3, 4, 4) * 0.3
    b = torch.randn(3) * 0.1
    t["convT.weight"], t["convT.bias"] = w, b
    t["convT.output"] = F.conv_transpose2d(x, w, b, stride=2, padding=1)

    t["reflect.output"] = F.pad(x, (3, 3, 3, 3), mode="reflect")

    bn = nn.BatchNorm2d(4, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(1 + 0.2 * torch.randn(4))
        bn.bias.copy_(0.2 * torch.randn(4))
    t["bn.weight"], t["bn.bias"] = bn.weight.detach().clone(), bn.bias.detach().clone()
    bn.train()
    with torch.no_grad():
        t["bn.train_output"] = bn(x)
    t["bn.running_mean"] = bn.running_mean.clone()
    t["bn.running_var"] = bn.running_var.clone()
    bn.eval()
    with torch.no_grad():
        t["bn.eval_output"] = bn(x)

    t["act.leaky001"] = F.leaky_relu(x, 0.01)
    t["act.leaky01"] = F.leaky_relu(x, 0.1)
    t["act.sigmoid"] = torch.sigmoid(x)
    t["act.tanh"] = torch.tanh(x)
    t["act.relu"] = F.relu(x)

    t["up.nearest"] = F.interpolate(x, scale_factor=2, mode="nearest")
    t["up.bilinear"] = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    t["up.bilinear_ac"] = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)

    params = {
        "c1.weight": torch.randn(8, 4, 3, 3) * 0.3, "c1.bias": torch.randn(8) * 0.1,
        "dw.weight": torch.randn(8, 1, 3, 3) * 0.3, "dw.bias": torch.randn(8) * 0.1,
        "c2.weight": torch.randn(3, 8, 1, 1) * 0.3, "c2.bias": torch.randn(3) * 0.1,
    }
    for k in params:
        params[k].requires_grad_(True)
    xi = x.clone().requires_grad_(True)
    h = F.conv2d(xi, params["c1.weight"], params["c1.bias"], padding=1)
    h = F.leaky_relu(h, 0.01)
    h = F.conv2d(h, params["dw.weight"], params["dw.bias"], padding=1, groups=8)
    h = F.conv2d(h, params["c2.weight"], params["c2.bias"])
    out = torch.sigmoid(h)
    loss = out.pow(2).mean()
    loss.backward()
    for k, v in params.items():
        t[f"stack.{k}"] = v
    t["stack.output"] = out
    t["stack.loss"] = loss  # 0-d
    for k, v in params.items():
        t[f"stack.grad.{k}"] = v.grad
    t["stack.grad.input"] = xi.grad
    return t


def _run_opt(make_opt, w0, x, y, clip: bool, steps: int = 10):
    w = w0.clone().requires_grad_(True)
    opt = make_opt([w])
    traj, losses, norms = [], [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        if clip:
            norms.append(torch.nn.utils.clip_grad_norm_([w], 1.0).detach().clone())
        else:
            norms.append(w.grad.norm().detach().clone())
        opt.step()
        losses.append(loss.detach().clone())
        traj.append(w.detach().clone())
    return torch.stack(traj), torch.stack(losses), torch.stack(norms)


def make_adam() -> dict:
    torch.manual_seed(1)
    w0 = torch.randn(5, 3)
    x = torch.randn(8, 5)
    y = torch.randn(8, 3)
    t = {"adam.w0": w0, "adam.x": x, "adam.y": y}
    adam = lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    adamw = lambda p: torch.optim.AdamW(p, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    t["adam.trajectory"], t["adam.losses"], t["adam.grad_norms"] = _run_opt(adam, w0, x, y, True)
    t["adamw.trajectory"], t["adamw.losses"], _ = _run_opt(adamw, w0, x, y, True)
    t["adam_noclip.trajectory"], t["adam_noclip.losses"], _ = _run_opt(adam, w0, x, y, False)
    return t


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    print(f"torch {torch.__version__}")
    save(make_layers(), "layers.safetensors")
    save(make_adam(), "adam.safetensors")


if __name__ == "__main__":
    main()
