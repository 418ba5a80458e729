"""Numeric fixtures for the lab model (Swift VidPredTests), made with reference/lab_model.py.

Model: VAEModel(F=16, L=8, N=4, D=24) (every channel count >= 1: F//8=2, L//2=4, N//4=1,
(F+L+N)//4=7, D//8=3), built right after torch.manual_seed(0) (PyTorch default init).
Images 8x16, batch 2. float32 everywhere; scalars are 0-d tensors (shape []).

Writes Tests/VidPredTests/Fixtures/lab_step.safetensors:

  weights.<key>      every entry of model.state_dict() at init (209 entries), same shapes, e.g.
                     weights.frame_transformation.0.conv1.weight (2,3,3,3). BatchNorm buffers
                     label_transformation.2.running_mean (4) = 0, .running_var (4) = 1 and
                     .num_batches_tracked (shape [], int64 in torch) = 0 stored as float32.
  -- one step (inputs drawn after torch.manual_seed(1), in this order) --
  in.prev_frame      (2,3,8,16)  rand in [0,1]   x_{t-1}
  in.frame           (2,3,8,16)  rand in [0,1]   x_t (target)
  in.label           (2,3,8,16)  rand in [0,1]   pose_t
  in.eps             (2,4,8,16)  randn           replaces randn_like in z = mu + eps*exp(0.5*logvar)
  out.mu, out.logvar, out.z   (2,4,8,16)  model.step(prev_frame, frame, label, eps) in TRAIN mode
                     (BatchNorm uses batch statistics): posterior from (enc(frame), lab(label)),
                     fusion of (enc(prev_frame), lab(label), z), generator
  out.x_hat          (2,3,8,16)
  out.kl             ()   -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) / 2
  out.mse            ()   mean((x_hat - frame)^2)
  out.state.label_transformation.2.running_mean (4), .running_var (4), .num_batches_tracked ()
                     BatchNorm buffers after that one train-mode step (the label encoder runs ONCE
                     per step, so num_batches_tracked = 1; momentum 0.1)
  out_eval.mu, out_eval.logvar (2,4,8,16), out_eval.x_hat (2,3,8,16)
                     model.step(...) with the same inputs and eps in EVAL mode, i.e. BatchNorm with the
                     running stats out.state.* above
  -- one training step (model reloaded from weights.*; inputs drawn after torch.manual_seed(2)) --
  train.frames       (2,4,3,8,16) rand in [0,1]  (B, T, C, H, W)
  train.labels       (2,4,3,8,16) rand in [0,1]
  train.eps          (3,2,4,8,16) randn, train.eps[t-1] is the noise of step t = 1..3
  teacher forcing ON, beta = 0.5, train mode:
  train.loss         ()   sum_{t=1..3} [ MSE(x_hat_t, x_t) + 0.5 * KL_t ]
  train.mse          ()   sum_t MSE_t
  train.kl           ()   sum_t KL_t
  train.grad_norm    ()   total L2 norm of ALL parameter gradients before clipping
                          (clip_grad_norm_(parameters, 1.0) return value)
  train.grad.<name>  gradient after loss.backward(), BEFORE clipping, only for these parameters
                     (full set would exceed the 300 KB budget) -- weight and bias of the first and
                     last conv of each module, plus the label encoder's BatchNorm affine params:
                       frame_transformation.0.conv1      frame_transformation.6
                       label_transformation.1            label_transformation.4.conv2
                       label_transformation.2 (BatchNorm weight/bias)
                       Gaussian_Predictor.0.conv1        Gaussian_Predictor.6
                       Decoder_Fusion.0.block.0.conv1.0  Decoder_Fusion.5
                       Generator.0.block.0.conv1.0       Generator.7
                     NOTE train.grad.label_transformation.1.bias is exactly 0 in exact arithmetic (a conv
                     bias right before train-mode BatchNorm cancels); the stored values are float noise
                     (|g| < 1e-6): compare it with an absolute tolerance (e.g. 1e-5), not a relative one.
  train.after.<name> the same parameters after clip_grad_norm_(1.0) and one
                     torch.optim.Adam(lr=1e-3, betas=(0.9,0.999), eps=1e-8) step -- EXCEPT
                     label_transformation.1.bias (omitted: Adam's g/(|g|+eps) turns its noise-level
                     gradient into an arbitrary update of up to ~1e-3, not reproducible across engines)
  train.state.label_transformation.2.running_mean / .running_var / .num_batches_tracked
                     BatchNorm buffers after the training step (3 label-encoder calls -> 3)

Also writes reference/lab_state_dict.txt: the DEFAULT model's (F=128, L=32, N=12, D=192) parameter
count and every state_dict key with its shape, for name-by-name checks of the Swift model.

File metadata: one key "info" = "generator=...; torch=<version>; dims=...; beta=0.5".
Deterministic (byte-identical on re-run): fixed seeds, torch.set_num_threads(1), deterministic algorithms. Run:
  reference/.venv/bin/python reference/make_model_fixtures.py
"""
from __future__ import annotations

import os
import sys

import torch
import torch.nn.functional as F_
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_model import VAEModel, count_parameters, forward_sequence, kl_divergence  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_PATH = os.path.join(ROOT, "Tests", "VidPredTests", "Fixtures", "lab_step.safetensors")
SD_TXT = os.path.join(ROOT, "reference", "lab_state_dict.txt")
MAX_BYTES = 300 * 1024

DIMS = dict(F=16, L=8, N=4, D=24)
B, C, H, W, T = 2, 3, 8, 16, 4
BETA = 0.5
BN = "label_transformation.2"
GRAD_MODULES = [
    "frame_transformation.0.conv1", "frame_transformation.6",
    "label_transformation.1", "label_transformation.4.conv2",
    BN,
    "Gaussian_Predictor.0.conv1", "Gaussian_Predictor.6",
    "Decoder_Fusion.0.block.0.conv1.0", "Decoder_Fusion.5",
    "Generator.0.block.0.conv1.0", "Generator.7",
]
GRAD_PARAMS = [f"{m}.{p}" for m in GRAD_MODULES for p in ("weight", "bias")]
# zero-in-exact-arithmetic gradient (conv bias before train-mode BatchNorm): no `train.after.` entry
AFTER_EXCLUDE = {"label_transformation.1.bias"}


def bn_state(model, prefix):
    sd = model.state_dict()
    return {f"{prefix}.{BN}.{k}": sd[f"{BN}.{k}"].clone()
            for k in ("running_mean", "running_var", "num_batches_tracked")}


def make() -> dict:
    t = {}
    torch.manual_seed(0)
    model = VAEModel(**DIMS)
    init_sd = {k: v.clone() for k, v in model.state_dict().items()}
    for k, v in init_sd.items():
        t[f"weights.{k}"] = v

    # ---- one step ----
    torch.manual_seed(1)
    prev = torch.rand(B, C, H, W)
    frame = torch.rand(B, C, H, W)
    label = torch.rand(B, C, H, W)
    eps = torch.randn(B, DIMS["N"], H, W)
    t.update({"in.prev_frame": prev, "in.frame": frame, "in.label": label, "in.eps": eps})
    model.train()
    with torch.no_grad():
        x_hat, z, mu, logvar = model.step(prev, frame, label, eps)
    t.update({"out.mu": mu, "out.logvar": logvar, "out.z": z, "out.x_hat": x_hat,
              "out.kl": kl_divergence(mu, logvar, B), "out.mse": F_.mse_loss(x_hat, frame)})
    t.update(bn_state(model, "out.state"))
    model.eval()
    with torch.no_grad():
        x_hat_e, _z_e, mu_e, logvar_e = model.step(prev, frame, label, eps)
    t.update({"out_eval.mu": mu_e, "out_eval.logvar": logvar_e, "out_eval.x_hat": x_hat_e})

    # ---- one training step ----
    model.load_state_dict(init_sd)
    model.train()
    torch.manual_seed(2)
    frames = torch.rand(B, T, C, H, W)
    labels = torch.rand(B, T, C, H, W)
    teps = torch.randn(T - 1, B, DIMS["N"], H, W)
    t.update({"train.frames": frames, "train.labels": labels, "train.eps": teps})
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    opt.zero_grad()
    loss, mse_sum, kl_sum, _ = forward_sequence(model, frames, labels, beta=BETA,
                                                teacher_forcing=True, eps=list(teps))
    loss.backward()
    params = dict(model.named_parameters())
    missing = [p for p in params if params[p].grad is None]
    assert not missing, f"parameters without grad: {missing}"
    t.update({"train.loss": loss, "train.mse": mse_sum, "train.kl": kl_sum})
    for name in GRAD_PARAMS:
        t[f"train.grad.{name}"] = params[name].grad.clone()
    t["train.grad_norm"] = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    for name in GRAD_PARAMS:
        if name in AFTER_EXCLUDE:
            continue
        t[f"train.after.{name}"] = params[name].detach().clone()
    t.update(bn_state(model, "train.state"))
    return t


def write_state_dict_txt():
    torch.manual_seed(0)
    m = VAEModel()
    sd = m.state_dict()
    n_params = count_parameters(m)
    n_buf = sum(v.numel() for k, v in sd.items()) - n_params
    lines = [
        "# state_dict of the DEFAULT lab model VAEModel(F=128, L=32, N=12, D=192) (reference/lab_model.py)",
        f"# generated by reference/make_model_fixtures.py with torch {torch.__version__}",
        f"# parameters: {n_params}",
        f"# state_dict entries: {len(sd)} (parameters: {len(list(m.parameters()))}, buffers: "
        f"{len(sd) - len(list(m.parameters()))}; buffer elements incl. num_batches_tracked: {n_buf})",
        "# per module parameters: " + ", ".join(
            f"{name}={count_parameters(mod)}" for name, mod in m.named_children()),
        "# format: key<TAB>shape<TAB>dtype<TAB>kind (param|buffer)",
    ]
    pnames = {k for k, _ in m.named_parameters()}
    for k, v in sd.items():
        shape = "x".join(str(s) for s in v.shape) or "scalar"
        lines.append(f"{k}\t{shape}\t{str(v.dtype).replace('torch.', '')}\t"
                     f"{'param' if k in pnames else 'buffer'}")
    with open(SD_TXT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(SD_TXT, ROOT)}: {n_params:,} parameters, {len(sd)} entries")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}")
    t = make()
    out = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in t.items()}
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    # ONE metadata key: safetensors writes the metadata map in random (hash) order.
    save_file(out, OUT_PATH, metadata={"info": f"generator=reference/make_model_fixtures.py; "
                                               f"torch={torch.__version__}; dims=F=16,L=8,N=4,D=24; "
                                               f"beta={BETA}"})
    os.chmod(OUT_PATH, 0o644)
    size = os.path.getsize(OUT_PATH)
    print(f"wrote {os.path.relpath(OUT_PATH, ROOT)}: {len(out)} tensors, {size:,} bytes")
    for k, v in out.items():
        if not k.startswith("weights.") or k.endswith("num_batches_tracked"):
            extra = f" = {v.item():.6g}" if v.dim() == 0 else ""
            print(f"  {k:60s} {tuple(v.shape)}{extra}")
    print(f"  (+ {sum(k.startswith('weights.') for k in out)} weights.* tensors)")
    if size > MAX_BYTES:
        sys.exit(f"ERROR: {OUT_PATH} is {size} bytes > {MAX_BYTES}")
    write_state_dict_txt()


if __name__ == "__main__":
    main()
