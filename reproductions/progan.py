"""ProGAN — Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality, Stability,
and Variation", ICLR 2018 (arXiv 1710.10196).

Read alongside sections 3–4 and appendix A.1 (Table 2):

- Progressive growing (section 3, Figure 2): G and D start at the lowest resolution and grow by one
  block per doubling. A new block fades in: G's output is (1 − α)·up(toRGB_old(h_old)) +
  α·toRGB_new(block(h_old)) (nearest up-sampling), D's features are (1 − α)·fromRGB_old(avgpool(x)) +
  α·block(fromRGB_new(x)), α rising linearly from 0 to 1; then the nets stabilise at α = 1. The real
  images are average-pooled to the current resolution and, during a fade-in, blended the same way
  between the new resolution and the up-sampled old one (the released code's `process_reals`), so
  reals and fakes change alike. The schedule lives in `reproductions/parts/progressive.py`.
- Minibatch standard deviation (section 3): near the end of D, the standard deviation of every feature
  at every pixel over a group of 4 images (the released code's `mbstd_group_size`), averaged into one
  value and appended as a constant feature map.
- Equalised learning rate (section 4.1): N(0, 1) weights scaled at run time by He's constant
  (`reproductions/parts/equalized.py`).
- Pixelwise feature normalisation (section 4.2, eq. 1): b = a / √(mean_j a_j² + 10⁻⁸) after every 3×3
  convolution of G (and on the latent: "normalize latent vector to lie on the unit hypersphere").
- Architecture (Table 2): G = latent → "Conv 4×4" (a dense layer to 4×4) → Conv 3×3 → per doubling
  [up 2×, Conv 3×3, Conv 3×3] → toRGB 1×1, linear; D mirrors it with fromRGB 1×1 → per halving
  [Conv 3×3, Conv 3×3, down 2×] → minibatch stddev → Conv 3×3 → "Conv 4×4" (dense) → dense 1.
  LeakyReLU 0.2 everywhere but the outputs. Widths min(fmap_base / 2^stage, fmap_max) as released:
  512 up to 32 px, 256 at 64 px.
- Training (appendix A.1): WGAN-GP with λ = 10 and n_critic = 1, plus a drift term
  ε_drift·E[D(x)²], ε_drift = 0.001, "to keep the discriminator output from drifting too far away from
  zero"; Adam α = 0.001, β₁ = 0, β₂ = 0.99, ε = 10⁻⁸, no learning-rate decay; the released code resets
  Adam's moments whenever a fade-in starts or ends (`reset_opt_for_new_lod`). Samples come from an
  exponential running average of G's weights with decay 0.999 (A.1; the released metric scripts score
  that averaged G).
- CIFAR-10 (section 6.5): the same setup, growing to 32 × 32, but the penalty pulls the gradient norm
  to γ = 750, E[(‖∇D‖ − γ)²/γ²] ("prefer fast transitions"); the released CIFAR-10 config also uses
  128 feature maps and a 128-d latent. Those are registry settings (`gp_target`, widths).

The schedule: A.1 shows D 800k real images per phase (`phase_kimg = 800`; the released CIFAR-10 config
uses 400). Our budgets are far shorter, so by default (`phase_kimg = 0`) `plan()` splits the budget's images
evenly over the phases (stabilise at the start, then fade + stabilise per doubling). 32/64 px images
start at 4×4, 28 px images at 7×7 (7 → 14 → 28).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.parts.blocks import ladder
from reproductions.parts.equalized import EqualizedConv2d, EqualizedLinear
from reproductions.parts.losses import d_loss_wasserstein, g_loss_wasserstein
from reproductions.parts.progressive import ResolutionSchedule
from reproductions.parts.regularizers import EMA, gradient_penalty

PAPER_PHASE_KIMG = 800.0  # appendix A.1: 800k images per fade-in and per stabilisation


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 512  # Table 2: 512-d latent
    fmap_base: int = 8192  # released code: width(stage) = min(fmap_base / 2^stage, fmap_max)
    fmap_max: int = 512
    lr: float = 1e-3  # appendix A.1
    beta1: float = 0.0
    beta2: float = 0.99
    eps: float = 1e-8
    gp_weight: float = 10.0  # λ (WGAN-GP)
    gp_target: float = 1.0  # γ: the penalty is E[(‖∇D‖ − γ)²/γ²]; section 6.5 uses 750 on CIFAR-10
    drift_weight: float = 0.001  # ε_drift
    d_steps_per_g_step: int = 1  # n_critic = 1 (A.1)
    mbstd_group_size: int = 4  # released code's group size
    g_ema_decay: float = 0.999  # A.1: running average of G's weights
    phase_kimg: float = 0.0  # images (×1000) per fade-in and per stabilisation; 0 = fit the budget (A.1: 800)
    reset_optimizers: bool = True  # released code: reset Adam's moments when a fade-in starts or ends


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Section 4.2, eq. 1: each pixel's feature vector divided by its root mean square over channels."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Section 3: the standard deviation of each feature at each pixel over a group of images, averaged
    over features and pixels into one number per group, appended to every image of the group as one
    more constant feature map. Images k·M + m (k < group) form group m, as in the released code; a
    batch that the group size does not divide uses the largest group size that does."""
    n, c, h, w = x.shape
    group = min(group_size, n)
    while n % group:
        group -= 1
    y = x.view(group, -1, c, h, w)
    y = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8).mean(dim=(1, 2, 3))  # (M,)
    return torch.cat([x, y.repeat(group)[:, None, None, None].expand(n, 1, h, w)], dim=1)


def _widths(hp: Hyperparameters, levels: int) -> list[int]:
    """Feature maps at each level. Level 0 is the released code's stage 1 (4×4: min(8192/2, 512)); a
    28 px image's 7×7 start takes the 4×4 width, 14×14 the 8×8 one and so on."""
    return [min(hp.fmap_base // 2 ** (level + 1), hp.fmap_max) for level in range(levels)]


class Generator(nn.Module):
    """All levels' layers exist from the start; `forward(z, level, alpha)` runs the first `level` blocks."""

    def __init__(self, hp: Hyperparameters, channels: int, resolution: int):
        super().__init__()
        self.start, ups = ladder(resolution)
        self.levels = ups + 1
        widths = _widths(hp, self.levels)
        self.width0 = widths[0]
        # Table 2's "Conv 4×4" on a 1×1 latent is a dense layer; the released code gives it gain √2/4,
        # the He constant of a 4×4 kernel (√(2/(16·fan_in))). A 7×7 start uses √2/7 likewise.
        self.dense = EqualizedLinear(hp.z_dim, widths[0] * self.start**2, gain=math.sqrt(2) / self.start)
        self.conv0 = EqualizedConv2d(widths[0], widths[0], 3)
        # blocks[k] takes level k−1 features to level k: up 2×, two 3×3 convs (blocks[0] is unused padding
        # so that indices match levels).
        self.blocks = nn.ModuleList([nn.Identity()] + [
            nn.ModuleList([EqualizedConv2d(widths[k - 1], widths[k], 3), EqualizedConv2d(widths[k], widths[k], 3)])
            for k in range(1, self.levels)
        ])
        self.to_rgb = nn.ModuleList(EqualizedConv2d(w, channels, 1, gain=1.0) for w in widths)  # linear

    def block(self, k: int, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        for conv in self.blocks[k]:
            x = pixel_norm(_lrelu(conv(x)))  # section 4.2: after every 3×3 conv of G
        return x

    def forward(self, z: torch.Tensor, level: int, alpha: float = 1.0) -> torch.Tensor:
        x = self.dense(pixel_norm(z)).view(z.shape[0], self.width0, self.start, self.start)
        x = pixel_norm(_lrelu(self.conv0(pixel_norm(_lrelu(x)))))
        for k in range(1, level):
            x = self.block(k, x)
        if level == 0:
            return self.to_rgb[0](x)
        new = self.to_rgb[level](self.block(level, x))
        if alpha >= 1.0:
            return new
        old = F.interpolate(self.to_rgb[level - 1](x), scale_factor=2, mode="nearest")  # the skip path of Fig. 2
        return torch.lerp(old, new, alpha)


class Discriminator(nn.Module):
    """G mirrored: `forward(x, level, alpha)` takes images at level `level`'s resolution."""

    def __init__(self, hp: Hyperparameters, channels: int, resolution: int):
        super().__init__()
        self.start, downs = ladder(resolution)
        self.levels = downs + 1
        widths = _widths(hp, self.levels)
        self.group_size = hp.mbstd_group_size
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, w, 1) for w in widths)
        # blocks[k] takes level k features to level k−1 (Table 2: Conv 3×3, LReLU, Conv 3×3, LReLU, down).
        self.blocks = nn.ModuleList([nn.Identity()] + [
            nn.ModuleList([EqualizedConv2d(widths[k], widths[k], 3), EqualizedConv2d(widths[k], widths[k - 1], 3)])
            for k in range(1, self.levels)
        ])
        c = widths[0]
        self.conv = EqualizedConv2d(c + 1, c, 3)
        self.dense = EqualizedLinear(c * self.start**2, min(hp.fmap_base, hp.fmap_max))  # Table 2's "Conv 4×4"
        self.out = EqualizedLinear(min(hp.fmap_base, hp.fmap_max), 1, gain=1.0)  # linear critic output

    def block(self, k: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[k]:
            h = _lrelu(conv(h))
        return F.avg_pool2d(h, 2)

    def forward(self, x: torch.Tensor, level: int, alpha: float = 1.0) -> torch.Tensor:
        h = _lrelu(self.from_rgb[level](x))
        if level > 0:
            h = self.block(level, h)
            if alpha < 1.0:  # fade-in: the old fromRGB on the average-pooled image is the skip path
                h = torch.lerp(_lrelu(self.from_rgb[level - 1](F.avg_pool2d(x, 2))), h, alpha)
        for k in range(level - 1, 0, -1):
            h = self.block(k, h)
        h = _lrelu(self.conv(minibatch_stddev(h, self.group_size)))
        return self.out(_lrelu(self.dense(h.flatten(1)))).flatten()


def real_at(images: torch.Tensor, level: int, alpha: float, levels: int) -> torch.Tensor:
    """Full-resolution reals as D sees them at (level, α): average-pooled to the level's resolution and,
    while its layers fade in, blended with their own 2× down-then-up-sampled version (α = 0: exactly
    the previous level's image, nearest up-sampled, as G's output is then)."""
    factor = 2 ** (levels - 1 - level)
    x = F.avg_pool2d(images, factor) if factor > 1 else images
    if level > 0 and alpha < 1.0:
        coarse = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
        x = torch.lerp(coarse, x, alpha)
    return x


class ProGAN(Reproduction):
    Hyperparameters = Hyperparameters
    has_unused_parameters = True  # levels not yet grown get no gradient (DDP must be told)

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp, data.channels, data.resolution).to(device)
        self.D = Discriminator(hp, data.channels, data.resolution).to(device)
        self.G_ema = EMA(self.G, decay=hp.g_ema_decay)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas, eps=hp.eps)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas, eps=hp.eps)
        self.levels = self.G.levels
        # Until `plan` says how long the budget is: the paper's fixed phases, and the batch size of the
        # batches train_step is given.
        self._planned: tuple[int, int] | None = None
        self._batch_size = 1
        self.schedule = ResolutionSchedule.fixed(self.levels, hp.phase_kimg or PAPER_PHASE_KIMG)
        self._last_step = -1  # the G step last trained: sample() draws at its (level, α)

    # -- the schedule -------------------------------------------------------------------------------
    def plan(self, g_steps: int, batch_size: int) -> None:
        self._planned = (g_steps, batch_size)
        self._batch_size = batch_size  # the global batch: under DDP each rank trains on a slice of it
        if self.hp.phase_kimg > 0:
            self.schedule = ResolutionSchedule.fixed(self.levels, self.hp.phase_kimg)
        else:
            self.schedule = ResolutionSchedule.fitted(self.levels, g_steps * batch_size * self.d_steps(0))

    def images_before(self, step: int) -> int:
        """Real images shown to D before G step `step`: the schedule depends on the step alone."""
        return step * self._batch_size * self.d_steps(0)

    def state_at(self, step: int) -> tuple[int, float]:
        """(level, α) of G step `step`."""
        return self.schedule.at(self.images_before(step))

    # -- the training step --------------------------------------------------------------------------
    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        if self._planned is None:
            self._batch_size = len(real[0])
        level, alpha = self.state_at(step)
        if self.hp.reset_optimizers and step > 0:
            # Released code: fresh Adam moments whenever a fade-in starts or ends. A function of the
            # step alone, so a resumed run resets exactly where an uninterrupted one does.
            now, before = (self.schedule.phase(self.images_before(s)) for s in (step, step - 1))
            if now != before:
                self.opt_G.state.clear()
                self.opt_D.state.clear()
        hp = self.hp
        critic = lambda x: self.D(x, level, alpha)

        for batch in real:
            x = real_at(batch.images, level, alpha, self.levels)
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)), level, alpha)
            d_real, d_fake = critic(x), critic(fake)
            wasserstein = d_loss_wasserstein(d_real, d_fake)  # E[D(x̃)] − E[D(x)]
            # E[(‖∇D(x̂)‖ − γ)²] from the shared penalty, divided by γ² as in section 6.5.
            penalty = gradient_penalty(critic, x, fake, target=hp.gp_target) / hp.gp_target**2
            drift = d_real.float().pow(2).mean()  # A.1: ε_drift·E[D(x)²]
            loss_d = wasserstein + hp.gp_weight * penalty + hp.drift_weight * drift
            self.update(self.opt_D, loss_d)  # layers of other levels get no gradient (None), so Adam skips them

        with frozen(self.D):
            loss_g = g_loss_wasserstein(critic(self.G(self.noise(len(real[-1])), level, alpha)))
            self.update(self.opt_G, loss_g)
        self.G_ema.update(self.G)
        self._last_step = step
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "gradient_penalty": penalty.detach(),
                "drift": drift.detach(), "wasserstein_estimate": -wasserstein.detach(),
                "level": torch.tensor(float(level)), "alpha": torch.tensor(alpha)}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """The averaged G at the (level, α) last trained, nearest up-sampled to the dataset's resolution
        if training stopped before the last level, and clipped to [-1, 1] (G's output is linear, as
        released; its image writer clips likewise)."""
        level, alpha = self.state_at(max(self._last_step, 0))
        images = self.G_ema.shadow(self.noise(n, generator), level, alpha)
        factor = 2 ** (self.levels - 1 - level)
        if factor > 1:
            images = F.interpolate(images, scale_factor=factor, mode="nearest")
        return images.clamp(-1.0, 1.0)

    # -- checkpointing ------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"last_step": self._last_step, "batch_size": self._batch_size,
                "planned": list(self._planned) if self._planned else None}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._last_step = int(state["last_step"])
        self._batch_size = int(state["batch_size"])
        if state["planned"] is not None:  # `evaluate` re-scores without calling plan(): rebuild the schedule
            self.plan(*(int(v) for v in state["planned"]))


REPRODUCTION = ProGAN
