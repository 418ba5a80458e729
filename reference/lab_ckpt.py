"""The lab's checkpoint files (`epoch=N.ckpt`) between PyTorch and VidPred.

  python reference/lab_ckpt.py make-fixture DIR
      Writes DIR/lab_tiny.ckpt: torch.save of the lab template's dict
      {"state_dict", "optimizer" (the state dict again, as the template does), "lr", "tfr", "last_epoch"}
      for VAEModel(F=16, L=8, N=4, D=24) built after torch.manual_seed(0) and trained 3 Adam steps
      (train mode, so BatchNorm's running statistics and num_batches_tracked are not the defaults);
      lr 1e-4, tfr 0.7, last_epoch 7.
      And DIR/lab_tiny_rollout.safetensors: first (1,3,8,16), labels (1,6,3,8,16), eps (5,1,4,8,16)
      drawn after torch.manual_seed(5), and frames (1,6,3,8,16): model.generate in eval mode fed its
      own predictions, z_t = eps[t-1] (frame 0 = first).
      And DIR/torch_views.pt: torch.save of tensors that are views of a larger storage
      ("transposed": a (3,4) tensor's .t(), "offset": rows 2.. of a (5,2) tensor, "strided": every
      other column) with their contiguous copies ("expected.<name>"), plus an int64 and a 0-d tensor.

  python reference/lab_ckpt.py check-export CKPT ROLLOUT
      Loads a .ckpt written by `vidpred export` as the lab's Tester.py does (torch.load, weights_only,
      load_state_dict strict), rolls out ROLLOUT's first/labels/eps and compares with ROLLOUT's
      frames (VidPred's own). Prints the largest difference and the file's lr, tfr and last_epoch;
      exits 1 when the frames differ by more than 1e-4.
"""
from __future__ import annotations

import os
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_model import VAEModel, train_step  # noqa: E402


def rollout(model: VAEModel, first, labels, eps):
    model.eval()
    frames = [first]
    with torch.no_grad():
        for t in range(1, labels.shape[1]):
            frames.append(model.generate(frames[-1], labels[:, t], eps[t - 1]))
    return torch.stack(frames, dim=1)


def dims_from(state):
    F = state["frame_transformation.6.weight"].shape[0]
    N = state["Gaussian_Predictor.6.weight"].shape[0] // 2
    D = state["Decoder_Fusion.5.weight"].shape[0]
    L = state["Gaussian_Predictor.0.conv1.weight"].shape[1] - F
    return F, L, N, D


def make_fixture(folder: str) -> None:
    torch.manual_seed(0)
    model = VAEModel(F=16, L=8, N=4, D=24)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        frames, labels = torch.rand(2, 4, 3, 8, 16), torch.rand(2, 4, 3, 8, 16)
        train_step(model, optimizer, frames, labels, beta=0.1)
    state = model.state_dict()
    torch.save({"state_dict": state, "optimizer": state, "lr": 1e-4, "tfr": 0.7, "last_epoch": 7},
               os.path.join(folder, "lab_tiny.ckpt"))
    torch.manual_seed(5)
    first, labels, eps = torch.rand(1, 3, 8, 16), torch.rand(1, 6, 3, 8, 16), torch.randn(5, 1, 4, 8, 16)
    frames = rollout(model, first, labels, eps)
    save_file({"first": first, "labels": labels, "eps": eps.contiguous(), "frames": frames.contiguous()},
              os.path.join(folder, "lab_tiny_rollout.safetensors"),
              metadata={"info": "generator=reference/lab_ckpt.py make-fixture; torch " + torch.__version__})
    a, b, c = torch.rand(3, 4), torch.rand(5, 2), torch.rand(3, 6)
    views = {"transposed": a.t(), "offset": b[2:], "strided": c[:, ::2]}
    saved = dict(views)
    saved.update({f"expected.{k}": v.contiguous().clone() for k, v in views.items()})
    saved.update({"int64": torch.arange(-2, 3, dtype=torch.int64), "scalar": torch.tensor(2.5)})
    torch.save(saved, os.path.join(folder, "torch_views.pt"))
    print(f"wrote {folder}/lab_tiny.ckpt, lab_tiny_rollout.safetensors and torch_views.pt (torch {torch.__version__})")


def check_export(ckpt: str, rollout_file: str) -> int:
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    state = checkpoint["state_dict"]
    model = VAEModel(*dims_from(state))
    model.load_state_dict(state, strict=True)
    data = load_file(rollout_file)
    frames = rollout(model, data["first"], data["labels"], data["eps"])
    difference = (frames - data["frames"]).abs().max().item()
    print(f"max_difference {difference:.3e} lr {checkpoint['lr']!r} tfr {checkpoint['tfr']!r} "
          f"last_epoch {checkpoint['last_epoch']!r} keys {len(state)}")
    return 0 if difference <= 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make-fixture":
        make_fixture(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check-export":
        sys.exit(check_export(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
