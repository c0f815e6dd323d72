"""Regularisers and network constraints shared by the reproductions: each written once."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


def gradient_penalty(critic, real: Tensor, fake: Tensor, target: float = 1.0, labels: Tensor | None = None) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1): E[(||∇D(x̂)||₂ - 1)²] on x̂ = εx + (1-ε)x̃, ε ~ U[0, 1].

    Always computed in fp32 (the penalty's second-order gradient is what mixed precision breaks first).
    """
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=torch.float32)
    mixed = (eps * real.float() + (1 - eps) * fake.float()).requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False):
        out = critic(mixed) if labels is None else critic(mixed, labels)
        (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - target) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """WGAN (Arjovsky et al. 2017, Algorithm 1): clamp every critic parameter to [-c, c] after each update."""
    for parameter in module.parameters():
        parameter.clamp_(-bound, bound)


def spectral_norm_all(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """SNGAN (Miyato et al. 2018): spectral normalisation on every conv / linear / embedding weight."""
    for child in list(module.modules()):
        if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.utils.parametrizations.spectral_norm(child, n_power_iterations=n_power_iterations)
    return module


def orthogonal_regularisation(module: nn.Module, strength: float = 1e-4) -> Tensor:
    """BigGAN (Brock et al. 2019, eq. 3): β‖WᵀW ⊙ (1 - I)‖²_F over every weight matrix, diagonal excluded."""
    total = torch.zeros((), device=next(module.parameters()).device)
    for name, parameter in module.named_parameters():
        if parameter.dim() < 2 or "embed" in name:
            continue
        w = parameter.flatten(1)
        gram = w @ w.t()
        total = total + ((gram * (1 - torch.eye(gram.shape[0], device=gram.device))) ** 2).sum()
    return strength * total


class EMA(nn.Module):
    """An exponential moving average of a network's weights, for sampling.

    Buffers (batchnorm running statistics, power-iteration vectors) are copied from the source, or,
    with `average_buffers`, averaged like the weights wherever they are floating point (BigGAN's
    `utils.ema` averages the whole state dict); integer buffers (BN's batch counter) are copied."""

    def __init__(self, source: nn.Module, decay: float = 0.999, average_buffers: bool = False):
        super().__init__()
        self.decay = decay
        self.average_buffers = average_buffers
        self.shadow = copy.deepcopy(source).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        for ema_p, p in zip(self.shadow.parameters(), source.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - self.decay)
        for ema_b, b in zip(self.shadow.buffers(), source.buffers()):
            if self.average_buffers and ema_b.is_floating_point():
                ema_b.lerp_(b, 1.0 - self.decay)
            else:
                ema_b.copy_(b)

    def forward(self, *args, **kwargs):
        return self.shadow(*args, **kwargs)


def perturb_real(real: Tensor, spread: float = 0.5) -> Tensor:
    """DRAGAN (Kodali et al. 2017; the released notebook's `get_perturbed_batch`): points near the data,
    x̂ = x + α·spread·std(x)·u with u ~ U[0, 1)^d per pixel, std over the whole batch, α ~ U[0, 1] per
    example (the notebook interpolates between x and its perturbed copy x + spread·std(x)·u)."""
    real = real.float()
    noise = spread * real.std() * torch.rand_like(real)
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    return real + alpha * noise


def perturbed_real_penalty(critic, real: Tensor, spread: float = 0.5, target: float = 1.0,
                           activation=None) -> Tensor:
    """DRAGAN's penalty: E[(‖∇D(x̂)‖₂ − target)²] on x̂ = perturb_real(x), near the real data only.

    `activation` is applied to D's output before differentiating: the DRAGAN notebook penalises the
    logit (None), compare_gan's DRAGAN.py the sigmoid probability (torch.sigmoid). In fp32, like
    `gradient_penalty`."""
    points = perturb_real(real.detach(), spread).requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False):
        out = critic(points)
        if activation is not None:
            out = activation(out)
        (grad,) = torch.autograd.grad(out.sum(), points, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - target) ** 2).mean()
