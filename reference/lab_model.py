"""Faithful PyTorch implementation of the lab's conditional VAE for video prediction.

Written from /work/shared/docs/lab.md plus the lab template's module structure, so that
`state_dict()` keys match the lab's checkpoints exactly (e.g. `frame_transformation.0.conv1.weight`,
`label_transformation.2.running_mean`, `Gaussian_Predictor.6.weight`, `Generator.7.bias`).

Contents
- layers: ResidualBlock, DepthConv, ConvFFN, DepthConvBlock
- modules (nn.Sequential subclasses, keys are indices): RGB_Encoder, Label_Encoder,
  Gaussian_Predictor, Decoder_Fusion, Generator
- VAEModel(F=128, L=32, N=12, D=192) with attributes frame_transformation, label_transformation,
  Gaussian_Predictor, Decoder_Fusion, Generator; `step(prev_frame, frame, label, eps=None)`
- plain functions: kl_divergence, train_step, rollout, psnr (used by make_model_fixtures.py and
  bench_lab.py)

Run `python reference/lab_model.py` to print the default model's parameter count and state_dict.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F_


# --------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """out = leaky(conv2(leaky(conv1(x)))) + (skip(x) if skip else x); LeakyReLU slope 0.01."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.leaky_relu = nn.LeakyReLU()  # default negative_slope 0.01
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x):
        identity = x if self.skip is None else self.skip(x)
        out = self.leaky_relu(self.conv1(x))
        out = self.leaky_relu(self.conv2(out))
        return out + identity


class DepthConv(nn.Module):
    """out = conv2(depth_conv(conv1(x))) + (adaptor(x) if adaptor else x)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(in_ch, in_ch, 1), nn.LeakyReLU(0.01))
        self.depth_conv = nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 1)
        self.adaptor = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x):
        identity = x if self.adaptor is None else self.adaptor(x)
        out = self.conv2(self.depth_conv(self.conv1(x)))
        return out + identity


class ConvFFN(nn.Module):
    """x1, x2 = conv(x).chunk(2, 1); out = x + conv_out(x1 * leaky_0.1(x2)); internal = 2*in."""

    def __init__(self, in_ch: int):
        super().__init__()
        internal = in_ch * 2
        self.conv = nn.Conv2d(in_ch, internal * 2, 1)
        self.conv_out = nn.Conv2d(internal, in_ch, 1)
        self.relu = nn.LeakyReLU(0.1)

    def forward(self, x):
        x1, x2 = self.conv(x).chunk(2, 1)
        return x + self.conv_out(x1 * self.relu(x2))


class DepthConvBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.block = nn.Sequential(DepthConv(in_ch, out_ch), ConvFFN(out_ch))

    def forward(self, x):
        return self.block(x)


# --------------------------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------------------------
class RGB_Encoder(nn.Sequential):
    def __init__(self, in_chans: int, out_chans: int):
        super().__init__(
            ResidualBlock(in_chans, out_chans // 8),
            DepthConvBlock(out_chans // 8, out_chans // 8),
            ResidualBlock(out_chans // 8, out_chans // 4),
            DepthConvBlock(out_chans // 4, out_chans // 4),
            ResidualBlock(out_chans // 4, out_chans // 2),
            DepthConvBlock(out_chans // 2, out_chans // 2),
            nn.Conv2d(out_chans // 2, out_chans, 3, padding=1),
        )

    def forward(self, image):
        return super().forward(image)


class Label_Encoder(nn.Sequential):
    def __init__(self, in_chans: int, out_chans: int, norm_layer=nn.BatchNorm2d):
        super().__init__(
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_chans, out_chans // 2, kernel_size=7, padding=0),
            norm_layer(out_chans // 2),
            # The template passes True as negative_slope -> slope 1.0 -> identity. Kept on purpose.
            nn.LeakyReLU(True),
            ResidualBlock(in_ch=out_chans // 2, out_ch=out_chans),
        )

    def forward(self, image):
        return super().forward(image)


class Gaussian_Predictor(nn.Sequential):
    def __init__(self, in_chans: int = 48, out_chans: int = 96):
        super().__init__(
            ResidualBlock(in_chans, out_chans // 4),
            DepthConvBlock(out_chans // 4, out_chans // 4),
            ResidualBlock(out_chans // 4, out_chans // 2),
            DepthConvBlock(out_chans // 2, out_chans // 2),
            ResidualBlock(out_chans // 2, out_chans),
            nn.LeakyReLU(True),  # slope 1.0 -> identity (template)
            nn.Conv2d(out_chans, out_chans * 2, kernel_size=1),
        )

    def reparameterize(self, mu, logvar, eps: Optional[torch.Tensor] = None):
        std = torch.exp(0.5 * logvar)
        if eps is None:
            eps = torch.randn_like(std)
        return mu + eps * std

    def forward(self, img, label, eps: Optional[torch.Tensor] = None):
        feature = torch.cat([img, label], dim=1)
        parm = super().forward(feature)
        mu, logvar = torch.chunk(parm, 2, dim=1)
        z = self.reparameterize(mu, logvar, eps)
        return z, mu, logvar


class Decoder_Fusion(nn.Sequential):
    def __init__(self, in_chans: int = 48, out_chans: int = 96):
        super().__init__(
            DepthConvBlock(in_chans, in_chans),
            ResidualBlock(in_chans, in_chans // 4),
            DepthConvBlock(in_chans // 4, in_chans // 2),
            ResidualBlock(in_chans // 2, in_chans // 2),
            DepthConvBlock(in_chans // 2, out_chans // 2),
            nn.Conv2d(out_chans // 2, out_chans, 1, 1),
        )

    def forward(self, img, label, parm):
        feature = torch.cat([img, label, parm], dim=1)
        return super().forward(feature)


class Generator(nn.Sequential):
    def __init__(self, input_nc: int, output_nc: int):
        super().__init__(
            DepthConvBlock(input_nc, input_nc),
            ResidualBlock(input_nc, input_nc // 2),
            DepthConvBlock(input_nc // 2, input_nc // 2),
            ResidualBlock(input_nc // 2, input_nc // 4),
            DepthConvBlock(input_nc // 4, input_nc // 4),
            ResidualBlock(input_nc // 4, input_nc // 8),
            DepthConvBlock(input_nc // 8, input_nc // 8),
            nn.Conv2d(input_nc // 8, 3, 1),  # template hard-codes 3 output channels
        )

    def forward(self, input):
        return super().forward(input)


# --------------------------------------------------------------------------------------------
# the VAE
# --------------------------------------------------------------------------------------------
class VAEModel(nn.Module):
    def __init__(self, F: int = 128, L: int = 32, N: int = 12, D: int = 192):
        super().__init__()
        self.F, self.L, self.N, self.D = F, L, N, D
        for name, c in (("F//8", F // 8), ("L//2", L // 2), ("N//4", N // 4),
                        ("(F+L+N)//4", (F + L + N) // 4), ("D//2", D // 2), ("D//8", D // 8)):
            if c < 1:
                raise ValueError(f"channel count {name} = {c} < 1 for F={F} L={L} N={N} D={D}")
        self.frame_transformation = RGB_Encoder(3, F)
        self.label_transformation = Label_Encoder(3, L)
        self.Gaussian_Predictor = Gaussian_Predictor(F + L, N)
        self.Decoder_Fusion = Decoder_Fusion(F + L + N, D)
        self.Generator = Generator(input_nc=D, output_nc=3)

    def step(self, prev_frame, frame, label, eps: Optional[torch.Tensor] = None):
        """One training step for target frame x_t = `frame`.

        posterior q(z | enc(x_t), lab(pose_t)); fusion of (enc(x_{t-1}), lab(pose_t), z); generator.
        Returns x_hat, z, mu, logvar. `eps` replaces randn_like in the reparameterisation.
        """
        label_feat = self.label_transformation(label)
        z, mu, logvar = self.Gaussian_Predictor(self.frame_transformation(frame), label_feat, eps)
        fused = self.Decoder_Fusion(self.frame_transformation(prev_frame), label_feat, z)
        x_hat = self.Generator(fused)
        return x_hat, z, mu, logvar

    def generate(self, prev_frame, label, z):
        """Inference step: z given (z ~ N(0, I) at test time), no posterior."""
        label_feat = self.label_transformation(label)
        fused = self.Decoder_Fusion(self.frame_transformation(prev_frame), label_feat, z)
        return self.Generator(fused)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------------
# losses, training step, rollout
# --------------------------------------------------------------------------------------------
def kl_divergence(mu, logvar, batch_size: int):
    """KL = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) / batch (the lab's formula)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / batch_size


def forward_sequence(model: VAEModel, frames, labels, *, beta: float, teacher_forcing: bool,
                     eps: Optional[Sequence[torch.Tensor]] = None):
    """Loss of one batch exactly as the lab: frames, labels (B, T, 3, H, W).

    For t = 1..T-1: prev = frames[:, t-1] (teacher forcing) or the previous prediction
    (frames[:, 0] at t = 1); loss += MSE(x_hat_t, x_t) + beta * KL. `eps[t-1]` (B, N, H, W)
    optionally replaces the reparameterisation noise at step t.
    Returns (loss, mse_sum, kl_sum, predictions list).
    """
    B, T = frames.shape[0], frames.shape[1]
    loss = frames.new_zeros(())
    mse_sum = frames.new_zeros(())
    kl_sum = frames.new_zeros(())
    preds = []
    prev_pred = frames[:, 0]
    for t in range(1, T):
        prev = frames[:, t - 1] if teacher_forcing else prev_pred
        e = None if eps is None else eps[t - 1]
        x_hat, _z, mu, logvar = model.step(prev, frames[:, t], labels[:, t], e)
        mse = F_.mse_loss(x_hat, frames[:, t])
        kl = kl_divergence(mu, logvar, B)
        loss = loss + mse + beta * kl
        mse_sum = mse_sum + mse.detach()
        kl_sum = kl_sum + kl.detach()
        preds.append(x_hat)
        prev_pred = x_hat
    return loss, mse_sum, kl_sum, preds


def train_step(model: VAEModel, optimizer: torch.optim.Optimizer, frames, labels, *,
               beta: float = 1.0, teacher_forcing: bool = True, clip: float = 1.0,
               eps: Optional[Sequence[torch.Tensor]] = None):
    """One optimizer step on one batch: forward_sequence, one backward, clip_grad_norm_(clip), step.
    Returns dict(loss, mse, kl) as floats."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss, mse_sum, kl_sum, _ = forward_sequence(model, frames, labels, beta=beta,
                                                teacher_forcing=teacher_forcing, eps=eps)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return {"loss": float(loss.detach()), "mse": float(mse_sum), "kl": float(kl_sum)}


def psnr(pred, target, data_range: float = 1.0):
    """PSNR = 10 log10(range^2 / MSE) over a whole frame."""
    mse = F_.mse_loss(pred, target)
    return 20 * math.log10(data_range) - 10 * torch.log10(mse)


@torch.no_grad()
def rollout(model: VAEModel, first_frame, labels, *, generator: Optional[torch.Generator] = None,
            targets=None, replace_nonfinite: bool = True):
    """Validation/test rollout (eval mode, BatchNorm on running stats).

    first_frame (3, H, W) with labels (T, 3, H, W) [one video], or first_frame (B, 3, H, W) with
    labels (B, T, 3, H, W) [B videos generated together]. For t = 1..T-1: z ~ N(0, I) of shape
    (B, N, H, W) (torch.randn with `generator`), x_hat_t = Generator(Decoder_Fusion(enc(x_hat_{t-1}),
    lab(pose_t), z)), own prediction fed back (x_hat_0 = first frame), no clamping inside the loop
    (as the template); non-finite values are replaced by 0.5 (lab.md) when replace_nonfinite.
    `targets` (same layout as labels, ground-truth frames) optional.

    Returns (frames, psnr): frames (T, 3, H, W) or (B, T, 3, H, W) with frame 0 = first frame;
    psnr = list over t = 1..T-1 of per-frame PSNR (range 1, unclamped predictions) -- floats for one
    video, lists of B floats for a batch -- or None without targets.
    """
    model.eval()
    single = first_frame.dim() == 3
    if single:
        first_frame, labels = first_frame.unsqueeze(0), labels.unsqueeze(0)
        if targets is not None:
            targets = targets.unsqueeze(0)
    B, T = labels.shape[0], labels.shape[1]
    H, W = first_frame.shape[-2:]
    out = [first_frame]
    prev = first_frame
    scores = [] if targets is not None else None
    for t in range(1, T):
        z = torch.randn((B, model.N, H, W), generator=generator, dtype=first_frame.dtype,
                        device=first_frame.device)
        x_hat = model.generate(prev, labels[:, t], z)
        if replace_nonfinite:
            x_hat = torch.where(torch.isfinite(x_hat), x_hat, torch.full_like(x_hat, 0.5))
        out.append(x_hat)
        if targets is not None:
            p = [float(psnr(x_hat[b], targets[b, t])) for b in range(B)]
            scores.append(p[0] if single else p)
        prev = x_hat
    frames = torch.stack(out, dim=1)
    return (frames[0] if single else frames), scores


if __name__ == "__main__":
    m = VAEModel()
    sd = m.state_dict()
    print(f"VAEModel(F=128, L=32, N=12, D=192): {count_parameters(m):,} parameters, "
          f"{len(sd)} state_dict entries")
    for k, v in sd.items():
        print(f"{k}\t{tuple(v.shape)}")
