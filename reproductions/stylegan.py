"""StyleGAN — Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative Adversarial
Networks", CVPR 2019 (arXiv 1812.04948).

Read alongside section 2 (the style-based generator), section 3.1 (style mixing), section 3.2
(stochastic variation), section 5.2 / appendix B (truncation trick in W) and appendix C (training):

- Mapping network f: z → w, eight fully connected layers of 512 (LeakyReLU 0.2), z normalised
  first; "we reduce the learning rate by two orders of magnitude for the mapping network"
  (λ_mul = 0.01, `reproductions/parts/equalized.py`).
- Synthesis network g: starts from a learned constant 4×4×512 tensor; every layer is
  conv → + per-pixel noise → bias → LeakyReLU → AdaIN (eq. 1: AdaIN(x_i, y) = y_s,i (x_i − μ(x_i))/σ(x_i)
  + y_b,i), the style y = (y_s, y_b) an affine transform "A" of w. Two layers per resolution;
  up-sampling followed by a [1 2 1] binomial blur (config B: "bilinear up/downsampling").
- Noise (section 3.2): one single-channel image of N(0, 1) per layer, broadcast to all feature maps
  with "learned per-feature scaling factors" ("B" in Fig. 1; zero-initialised in the released code).
- Mixing regularisation (section 3.1): for 90% of the training images two latents z₁, z₂ are
  mapped and w₁ drives the layers before a random crossover point, w₂ the rest.
- Truncation in W (appendix B): w' = w̄ + ψ(w − w̄), w̄ a running average of the mapped latents
  (decay 0.995 in the released code), applied to the first `truncation_cutoff` layers (8 in the
  released code: 4²–32²). The paper's FIDs use no truncation (ψ = 1), our default.
- Equalised learning rate throughout, Adam (λ = 0.001, β₁ = 0, β₂ = 0.99, ε = 10⁻⁸); FFHQ's loss is
  the non-saturating logistic loss with R1 regularisation γ = 10 (appendix C), which we use.
- D is Progressive GAN's: from-RGB 1×1, two 3×3 convs per resolution (blur before the down-sampling
  one), minibatch standard deviation, 3×3 conv, two dense layers. Sampling uses an exponential moving
  average of G (Progressive GAN's 10 kimg half-life, inherited per appendix C).

Widths are min(2·fmap_base/side, fmap_max): 512 everywhere up to 32 px. The number of resolutions
follows the image: 4→32 (8 layers) for 32 px, 7→28 (6 layers) for 28 px, 4→64 (10 layers) for 64 px.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.parts.blocks import ladder
from reproductions.parts.equalized import EqualizedConv2d, EqualizedLinear
from reproductions.parts.losses import d_loss_gan, g_loss_nonsaturating
from reproductions.parts.regularizers import EMA, gradient_penalty


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    fmap_base: int = 8192
    fmap_max: int = 512
    lr: float = 1e-3
    beta1: float = 0.0
    beta2: float = 0.99
    eps: float = 1e-8
    r1_gamma: float = 10.0
    style_mixing_prob: float = 0.9
    w_avg_beta: float = 0.995
    truncation_psi: float = 1.0
    truncation_cutoff: int | None = 8  # layers that truncation reaches; None = all
    ema_kimg: float = 10.0  # half-life of G's weight average, in thousands of images
    mbstd_group_size: int = 4
    resolution: int | None = None  # None: the dataset's native size


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class Blur(nn.Module):
    """Depthwise [1 2 1]ᵀ[1 2 1]/16 low-pass filter (config B's "bilinear" resampling)."""

    def __init__(self, channels: int):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None, :] / 16).expand(channels, 1, 3, 3).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel, padding=1, groups=x.shape[1])


class StyleLayer(nn.Module):
    """[2× up] → [3×3 conv] → [blur] → + B·noise → bias → LeakyReLU → AdaIN with style A(w)."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, conv: bool = True, up: bool = False):
        super().__init__()
        self.up = up
        self.conv = EqualizedConv2d(c_in, c_out, 3, bias=False) if conv else None
        self.blur = Blur(c_out) if up else None
        self.noise_strength = nn.Parameter(torch.zeros(c_out))  # B: per-channel noise scales
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.affine = EqualizedLinear(w_dim, 2 * c_out, gain=1.0)  # A: w → (y_s, y_b)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str, generator: torch.Generator | None) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.conv is not None:
            x = self.conv(x)
        if self.blur is not None:
            x = self.blur(x)
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, generator=generator)
            x = x + noise * self.noise_strength[None, :, None, None]
        x = _lrelu(x + self.bias[None, :, None, None])
        x = (x - x.mean(dim=(2, 3), keepdim=True)) * torch.rsqrt(x.var(dim=(2, 3), keepdim=True, unbiased=False) + 1e-8)
        y_s, y_b = self.affine(w).chunk(2, dim=1)
        return x * (y_s + 1)[:, :, None, None] + y_b[:, :, None, None]  # eq. 1 (y_s around 1, as released)


class MappingNetwork(nn.Module):
    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_multiplier: float):
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualizedLinear(a, b, lr_multiplier=lr_multiplier) for a, b in zip(dims, dims[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # normalise z (pixel norm)
        for layer in self.layers:
            x = _lrelu(layer(x))
        return x


class Generator(nn.Module):
    """f (mapping) + g (synthesis from a learned constant) + the running average w̄ for truncation."""

    def __init__(self, hp: Hyperparameters, channels: int, resolution: int):
        super().__init__()
        start, ups = ladder(resolution)
        width = lambda side: min(int(2 * hp.fmap_base / side), hp.fmap_max)  # noqa: E731
        self.mapping = MappingNetwork(hp.z_dim, hp.w_dim, hp.mapping_layers, hp.mapping_lr_multiplier)
        self.const = nn.Parameter(torch.ones(1, width(start), start, start))  # the learned constant input
        c = width(start)
        layers = [StyleLayer(c, c, hp.w_dim, conv=False), StyleLayer(c, c, hp.w_dim)]  # 4×4: const, then conv
        for i in range(ups):
            c_in, c_out = width(start * 2**i), width(start * 2 ** (i + 1))
            layers += [StyleLayer(c_in, c_out, hp.w_dim, up=True), StyleLayer(c_out, c_out, hp.w_dim)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualizedConv2d(width(resolution), channels, 1, gain=1.0)
        self.num_layers = len(layers)
        self.register_buffer("w_avg", torch.zeros(hp.w_dim))

    def styles(self, z: torch.Tensor, z_mix: torch.Tensor | None = None, crossover: int | None = None,
               psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
        """Per-layer styles (B, L, w_dim): w = f(z) everywhere, f(z_mix) from `crossover` on, then truncation."""
        ws = self.mapping(z)[:, None].repeat(1, self.num_layers, 1)
        if z_mix is not None:
            ws[:, crossover:] = self.mapping(z_mix)[:, None]  # section 3.1: switch latents at the crossover
        if psi != 1.0:
            reach = self.num_layers if cutoff is None else min(cutoff, self.num_layers)
            ws[:, :reach] = self.w_avg.lerp(ws[:, :reach], psi)  # w̄ + ψ(w − w̄)
        return ws

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "random",
                  generator: torch.Generator | None = None) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], noise_mode, generator)
        return self.to_rgb(x)

    def forward(self, z: torch.Tensor, z_mix: torch.Tensor | None = None, crossover: int | None = None,
                psi: float = 1.0, cutoff: int | None = None, noise_mode: str = "random",
                generator: torch.Generator | None = None) -> torch.Tensor:
        return self.synthesis(self.styles(z, z_mix, crossover, psi, cutoff), noise_mode, generator)


class Discriminator(nn.Module):
    """Progressive GAN's D: from-RGB, per resolution conv → blur → conv → 2× down, then minibatch
    stddev → conv → dense → dense → one logit."""

    def __init__(self, hp: Hyperparameters, channels: int, resolution: int):
        super().__init__()
        start, downs = ladder(resolution)
        width = lambda side: min(int(2 * hp.fmap_base / side), hp.fmap_max)  # noqa: E731
        self.from_rgb = EqualizedConv2d(channels, width(resolution), 1)
        blocks: list[nn.Module] = []
        for i in range(downs):
            side = resolution // 2**i
            blocks += [EqualizedConv2d(width(side), width(side), 3), nn.LeakyReLU(0.2), Blur(width(side)),
                       EqualizedConv2d(width(side), width(side // 2), 3), nn.AvgPool2d(2), nn.LeakyReLU(0.2)]
        self.blocks = nn.Sequential(*blocks)
        c = width(start)
        self.group_size = hp.mbstd_group_size
        self.conv = EqualizedConv2d(c + 1, c, 3)
        self.dense = EqualizedLinear(c * start * start, c)
        self.out = EqualizedLinear(c, 1, gain=1.0)

    def minibatch_stddev(self, x: torch.Tensor) -> torch.Tensor:
        """Progressive GAN section 3: the std of each feature over a group, averaged, as one extra map."""
        n, c, h, w = x.shape
        group = min(self.group_size, n)
        while n % group:
            group -= 1
        y = x.view(group, -1, c, h, w)  # sample k·M + m sits in group-column m
        y = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8).mean(dim=(1, 2, 3))  # (M,)
        return torch.cat([x, y.repeat(group)[:, None, None, None].expand(n, 1, h, w)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(_lrelu(self.from_rgb(x)))
        x = _lrelu(self.conv(self.minibatch_stddev(x)))
        return self.out(_lrelu(self.dense(x.flatten(1)))).flatten()


class StyleGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp, data.channels, data.resolution).to(device)
        self.D = Discriminator(hp, data.channels, data.resolution).to(device)
        self.G_ema = EMA(self.G)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas, eps=hp.eps)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas, eps=hp.eps)

    def generate_for_training(self, n: int) -> torch.Tensor:
        """G(z) with mixing regularisation: with probability p a second latent takes over at a
        crossover point drawn uniformly from 1..L−1 (the released code's per-minibatch draw)."""
        z = self.noise(n)
        if torch.rand(()) < self.hp.style_mixing_prob:
            crossover = int(torch.randint(1, self.G.num_layers, ()))
            return self.G(z, z_mix=self.noise(n), crossover=crossover)
        return self.G(z)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            with torch.no_grad():
                fake = self.generate_for_training(len(batch))
            d_real, d_fake = self.D(batch.images), self.D(fake)
            # Appendix C: non-saturating logistic loss + R1 = γ/2·E‖∇D(x)‖² on real images. The
            # harness penalty E[(‖∇D(x̂)‖ − target)²] with x̂ interpolated between x and x, and target
            # 0, is exactly that expectation at the real images.
            r1 = gradient_penalty(self.D, batch.images, batch.images, target=0.0)
            loss_d = d_loss_gan(d_real, d_fake) + 0.5 * self.hp.r1_gamma * r1
            self.update(self.opt_D, loss_d)

        with frozen(self.D):
            n = len(real[-1])
            loss_g = g_loss_nonsaturating(self.D(self.generate_for_training(n)))
            self.update(self.opt_G, loss_g)
        with torch.no_grad():  # w̄ for truncation: a running mean of mapped latents
            self.G.w_avg.lerp_(self.G.mapping(self.noise(n)).mean(dim=0), 1.0 - self.hp.w_avg_beta)
        self.G_ema.decay = 0.5 ** (n / (self.hp.ema_kimg * 1000.0))
        self.G_ema.update(self.G)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "r1": r1.detach(),
                "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
               noise_mode: str = "random") -> torch.Tensor:
        """The averaged G with truncation ψ on the first `truncation_cutoff` layers; clipped to [-1, 1]
        as the released code does when it writes images (G's output layer is linear)."""
        z = self.noise(n, generator)
        images = self.G_ema.shadow(z, psi=self.hp.truncation_psi, cutoff=self.hp.truncation_cutoff,
                                   noise_mode=noise_mode, generator=generator)
        return images.clamp(-1.0, 1.0)


REPRODUCTION = StyleGAN
