"""Cross-checks the committed fixtures using only what is stored in them and the documented recipes.

- lab_step.safetensors: re-implements the lab step *functionally* from lab.md (F.conv2d on the
  `weights.*` tensors, no lab_model classes) and compares out.*, out_eval.*, out.state.*, train.*;
  also loads `weights.*` into lab_model.VAEModel(16, 8, 4, 24) (state_dict keys must match exactly).
- layers.safetensors / adam.safetensors: recomputes every output from the stored inputs.
Exit status 1 on any mismatch. Run: reference/.venv/bin/python reference/check_fixtures.py
"""
from __future__ import annotations

import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_model import VAEModel  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAIL = []


def close(name, a, b, atol=1e-5, rtol=1e-4):
    a, b = a.to(torch.float32), b.to(torch.float32)
    ok = a.shape == b.shape and torch.allclose(a, b, atol=atol, rtol=rtol)
    err = (a - b).abs().max().item() if a.shape == b.shape else float("nan")
    if not ok:
        FAIL.append(name)
    print(f"  {'ok  ' if ok else 'FAIL'} {name:60s} max|diff| {err:.2e}")


# ---------------- functional lab model on a flat weight dict ----------------
class Fn:
    def __init__(self, w, train):
        self.w, self.train, self.bn_updates = w, train, []

    def conv(self, p, x, pad=0, groups=1):
        return F.conv2d(x, self.w[p + ".weight"], self.w[p + ".bias"], padding=pad, groups=groups)

    def res(self, p, x):
        has_skip = (p + ".skip.weight") in self.w
        out = F.leaky_relu(self.conv(p + ".conv1", x, 1), 0.01)
        out = F.leaky_relu(self.conv(p + ".conv2", out, 1), 0.01)
        return out + (self.conv(p + ".skip", x) if has_skip else x)

    def dcb(self, p, x):
        d = p + ".block.0"
        c = x.shape[1]
        h = F.leaky_relu(self.conv(d + ".conv1.0", x), 0.01)
        h = self.conv(d + ".depth_conv", h, 1, groups=c)
        h = self.conv(d + ".conv2", h)
        x = h + (self.conv(d + ".adaptor", x) if (d + ".adaptor.weight") in self.w else x)
        f = p + ".block.1"
        a, b = self.conv(f + ".conv", x).chunk(2, 1)
        return x + self.conv(f + ".conv_out", a * F.leaky_relu(b, 0.1))

    def bn(self, p, x):
        if self.train:
            mean = x.mean((0, 2, 3))
            var_b = x.var((0, 2, 3), unbiased=False)
            n = x.numel() / x.shape[1]
            self.bn_updates.append((mean, var_b * n / (n - 1)))
            xn = (x - mean[None, :, None, None]) / torch.sqrt(var_b[None, :, None, None] + 1e-5)
        else:
            xn = (x - self.w[p + ".running_mean"][None, :, None, None]) / torch.sqrt(
                self.w[p + ".running_var"][None, :, None, None] + 1e-5)
        return xn * self.w[p + ".weight"][None, :, None, None] + self.w[p + ".bias"][None, :, None, None]

    def enc(self, x):
        p = "frame_transformation"
        x = self.res(p + ".0", x); x = self.dcb(p + ".1", x)
        x = self.res(p + ".2", x); x = self.dcb(p + ".3", x)
        x = self.res(p + ".4", x); x = self.dcb(p + ".5", x)
        return self.conv(p + ".6", x, 1)

    def lab(self, x):
        p = "label_transformation"
        x = F.pad(x, (3, 3, 3, 3), mode="reflect")
        x = self.bn(p + ".2", self.conv(p + ".1", x))  # LeakyReLU(slope 1.0) = identity
        return self.res(p + ".4", x)

    def gauss(self, x):
        p = "Gaussian_Predictor"
        x = self.res(p + ".0", x); x = self.dcb(p + ".1", x)
        x = self.res(p + ".2", x); x = self.dcb(p + ".3", x)
        x = self.res(p + ".4", x)
        return self.conv(p + ".6", x).chunk(2, 1)

    def fusion(self, x):
        p = "Decoder_Fusion"
        x = self.dcb(p + ".0", x); x = self.res(p + ".1", x); x = self.dcb(p + ".2", x)
        x = self.res(p + ".3", x); x = self.dcb(p + ".4", x)
        return self.conv(p + ".5", x)

    def gen(self, x):
        p = "Generator"
        for i in range(7):
            x = (self.dcb if i % 2 == 0 else self.res)(f"{p}.{i}", x)
        return self.conv(p + ".7", x)

    def step(self, prev, frame, label, eps):
        lf = self.lab(label)
        mu, logvar = self.gauss(torch.cat([self.enc(frame), lf], 1))
        z = mu + eps * torch.exp(0.5 * logvar)
        return self.gen(self.fusion(torch.cat([self.enc(prev), lf, z], 1))), z, mu, logvar


def kl(mu, logvar, b):
    return -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp()) / b


def bn_running(w, updates, p="label_transformation.2"):
    rm, rv = w[p + ".running_mean"].clone(), w[p + ".running_var"].clone()
    for mean, var_u in updates:
        rm = 0.9 * rm + 0.1 * mean
        rv = 0.9 * rv + 0.1 * var_u
    return rm, rv


def check_lab_step():
    path = os.path.join(ROOT, "Tests/VidPredTests/Fixtures/lab_step.safetensors")
    print(path)
    t = load_file(path)
    w = {k[len("weights."):]: v for k, v in t.items() if k.startswith("weights.")}
    # keys/shapes identical to lab_model's state_dict
    m = VAEModel(16, 8, 4, 24)
    sd = {k: (v.to(torch.int64) if k.endswith("num_batches_tracked") else v) for k, v in w.items()}
    m.load_state_dict(sd, strict=True)
    print("  ok   weights.* load strictly into VAEModel(16, 8, 4, 24)")

    fn = Fn(w, train=True)
    x_hat, z, mu, logvar = fn.step(t["in.prev_frame"], t["in.frame"], t["in.label"], t["in.eps"])
    for k, v in (("mu", mu), ("logvar", logvar), ("z", z), ("x_hat", x_hat)):
        close(f"out.{k}", v, t[f"out.{k}"])
    close("out.kl", kl(mu, logvar, 2), t["out.kl"])
    close("out.mse", F.mse_loss(x_hat, t["in.frame"]), t["out.mse"])
    rm, rv = bn_running(w, fn.bn_updates)
    close("out.state...running_mean", rm, t["out.state.label_transformation.2.running_mean"])
    close("out.state...running_var", rv, t["out.state.label_transformation.2.running_var"])
    close("out.state...num_batches_tracked", torch.tensor(float(len(fn.bn_updates))),
          t["out.state.label_transformation.2.num_batches_tracked"])

    w_eval = dict(w)
    w_eval["label_transformation.2.running_mean"] = rm
    w_eval["label_transformation.2.running_var"] = rv
    x_hat_e, _, mu_e, logvar_e = Fn(w_eval, train=False).step(
        t["in.prev_frame"], t["in.frame"], t["in.label"], t["in.eps"])
    close("out_eval.x_hat", x_hat_e, t["out_eval.x_hat"])
    close("out_eval.mu", mu_e, t["out_eval.mu"])
    close("out_eval.logvar", logvar_e, t["out_eval.logvar"])

    # training step, functional, grads via autograd on leaf copies
    params = {k: v.clone().requires_grad_(not ("running" in k or "num_batches" in k)) for k, v in w.items()}
    fn = Fn(params, train=True)
    frames, labels, eps = t["train.frames"], t["train.labels"], t["train.eps"]
    loss, mse_s, kl_s = 0, 0, 0
    for s in range(1, frames.shape[1]):
        xh, _, mu, logvar = fn.step(frames[:, s - 1], frames[:, s], labels[:, s], eps[s - 1])
        mse = F.mse_loss(xh, frames[:, s]); k = kl(mu, logvar, frames.shape[0])
        loss = loss + mse + 0.5 * k; mse_s = mse_s + mse; kl_s = kl_s + k
    loss.backward()
    close("train.loss", loss, t["train.loss"])
    close("train.mse", mse_s, t["train.mse"])
    close("train.kl", kl_s, t["train.kl"])
    grads = {k: v.grad for k, v in params.items() if v.requires_grad}
    gnorm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads.values()))
    close("train.grad_norm", gnorm, t["train.grad_norm"], rtol=1e-4)
    scale = min(1.0, 1.0 / (gnorm.item() + 1e-6))
    for key in sorted(k for k in t if k.startswith("train.grad.")):
        name = key[len("train.grad."):]
        g = grads[name]
        # tolerance relative to the tensor's scale (grads reach ~1e2 here)
        close(key, g, t[key], atol=1e-5 * max(1.0, g.abs().max().item()))
        if key.replace("train.grad.", "train.after.") not in t:
            print(f"  skip {key.replace('train.grad.', 'train.after.')} (not stored: zero gradient)")
            continue
        # Adam first step: m = (1-b1) g, v = (1-b2) g^2, bias-corrected -> g / (|g| + eps)
        gc = g * scale
        upd = 1e-3 * gc / (gc.abs() + 1e-8)
        close(key.replace("train.grad.", "train.after."), w[name] - upd, t[key.replace("grad", "after", 1)],
              atol=2e-6)
    rm, rv = bn_running(w, fn.bn_updates)
    close("train.state...running_mean", rm, t["train.state.label_transformation.2.running_mean"])
    close("train.state...running_var", rv, t["train.state.label_transformation.2.running_var"])


def check_layers():
    path = os.path.join(ROOT, "Tests/TorchTests/Fixtures/layers.safetensors")
    print(path)
    t = load_file(path)
    x = t["conv.input"]
    close("conv.output", F.conv2d(x, t["conv.weight"], t["conv.bias"], padding=1), t["conv.output"])
    close("conv_sd.output", F.conv2d(x, t["conv_sd.weight"], t["conv_sd.bias"], stride=2, padding=2, dilation=2),
          t["conv_sd.output"])
    close("dw.output", F.conv2d(x, t["dw.weight"], t["dw.bias"], padding=1, groups=4), t["dw.output"])
    close("convT.output", F.conv_transpose2d(x, t["convT.weight"], t["convT.bias"], stride=2, padding=1),
          t["convT.output"])
    close("reflect.output", F.pad(x, (3, 3, 3, 3), mode="reflect"), t["reflect.output"])
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
    n = x.numel() / 4
    bshape = lambda v: v[None, :, None, None]
    close("bn.train_output", (x - bshape(mean)) / torch.sqrt(bshape(var) + 1e-5) * bshape(t["bn.weight"])
          + bshape(t["bn.bias"]), t["bn.train_output"])
    close("bn.running_mean", 0.1 * mean, t["bn.running_mean"])
    close("bn.running_var", 0.9 + 0.1 * var * n / (n - 1), t["bn.running_var"])
    close("bn.eval_output", (x - bshape(t["bn.running_mean"])) / torch.sqrt(bshape(t["bn.running_var"]) + 1e-5)
          * bshape(t["bn.weight"]) + bshape(t["bn.bias"]), t["bn.eval_output"])
    close("act.leaky001", torch.where(x > 0, x, 0.01 * x), t["act.leaky001"])
    close("act.leaky01", torch.where(x > 0, x, 0.1 * x), t["act.leaky01"])
    close("act.sigmoid", 1 / (1 + torch.exp(-x)), t["act.sigmoid"])
    close("act.tanh", torch.tanh(x), t["act.tanh"])
    close("act.relu", x.clamp_min(0), t["act.relu"])
    close("up.nearest", x.repeat_interleave(2, 2).repeat_interleave(2, 3), t["up.nearest"])
    close("up.bilinear", F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), t["up.bilinear"])
    close("up.bilinear_ac", F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True), t["up.bilinear_ac"])
    p = {k: t["stack." + k].clone().requires_grad_(True) for k in
         ("c1.weight", "c1.bias", "dw.weight", "dw.bias", "c2.weight", "c2.bias")}
    xi = x.clone().requires_grad_(True)
    h = F.leaky_relu(F.conv2d(xi, p["c1.weight"], p["c1.bias"], padding=1), 0.01)
    h = F.conv2d(h, p["dw.weight"], p["dw.bias"], padding=1, groups=8)
    out = torch.sigmoid(F.conv2d(h, p["c2.weight"], p["c2.bias"]))
    loss = (out ** 2).mean()
    loss.backward()
    close("stack.output", out, t["stack.output"])
    close("stack.loss", loss, t["stack.loss"])
    for k, v in p.items():
        close(f"stack.grad.{k}", v.grad, t[f"stack.grad.{k}"])
    close("stack.grad.input", xi.grad, t["stack.grad.input"])


def check_adam():
    path = os.path.join(ROOT, "Tests/TorchTests/Fixtures/adam.safetensors")
    print(path)
    t = load_file(path)
    x, y = t["adam.x"], t["adam.y"]

    def run(clip, wd, decoupled):
        w = t["adam.w0"].clone()
        m = torch.zeros_like(w); v = torch.zeros_like(w)
        traj, losses = [], []
        for s in range(1, 11):
            r = x @ w - y
            losses.append((r ** 2).mean())
            g = 2 * x.T @ r / r.numel()
            if clip:
                nrm = g.norm()
                g = g * min(1.0, 1.0 / (nrm.item() + 1e-6))
            if decoupled:
                w = w * (1 - 0.1 * wd)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            mh = m / (1 - 0.9 ** s); vh = v / (1 - 0.999 ** s)
            w = w - 0.1 * mh / (vh.sqrt() + 1e-8)
            traj.append(w)
        return torch.stack(traj), torch.stack(losses)

    tr, ls = run(True, 0, False)
    close("adam.trajectory", tr, t["adam.trajectory"]); close("adam.losses", ls, t["adam.losses"])
    tr, ls = run(True, 0.01, True)
    close("adamw.trajectory", tr, t["adamw.trajectory"]); close("adamw.losses", ls, t["adamw.losses"])
    tr, ls = run(False, 0, False)
    close("adam_noclip.trajectory", tr, t["adam_noclip.trajectory"])
    close("adam_noclip.losses", ls, t["adam_noclip.losses"])


if __name__ == "__main__":
    torch.set_num_threads(1)
    check_layers()
    check_adam()
    check_lab_step()
    if FAIL:
        sys.exit(f"{len(FAIL)} mismatches: {FAIL}")
    print("all fixtures consistent")
