"""AGE — Ulyanov, Vedaldi & Lempitsky, "It Takes (Only) Two: Adversarial Generator-Encoder Networks",
AAAI 2018 (arXiv 1704.02304).

Two feed-forward maps and no discriminator: a generator g(z) and an encoder e(x) into the latent
space, whose prior Y is the uniform distribution on the unit sphere. The adversarial game is played
*in latent space*, on a divergence Δ between a set of codes and the prior: the encoder wants the
codes of real images to look like prior samples and the codes of generated images not to; the
generator wants its images' codes to look like prior samples.

Read alongside the paper (the method section) and its released code (github.com/DmitryUlyanov/AGE,
`age.py`, `src/losses.py`, `src/utils.py`, `models/dcgan32px.py`), which fixes the details:
- The game: max_e min_g V(g, e) = Δ(e(g(Z)) ‖ Y) − Δ(e(X) ‖ Y). Δ is the KL divergence of a
  Gaussian fitted to each latent dimension of the batch of codes against N(0, 1), averaged over
  dimensions (`reproductions.parts.autoencoders.batch_kl_to_standard_normal`; the code's `KLN01Loss`,
  direction `qp`, criterion `param`).
- The reconstruction terms: the encoder also minimises λ·E‖x − g(e(x))‖₁ (the data-space L1,
  `match_x`), the generator also minimises μ·E[cos distance(z, e(g(z)))] (the latent-space
  reconstruction, `match_z`, the code's `2 − mean(z̄ ⊙ ē)` on unit-normalised vectors).
- The updates: one encoder step (KL_real, KL_fake, λ = 10), then `g_updates` = 2 generator steps
  (KL_fake, μ = 1000), each on fresh noise, as the code's CIFAR-10 command
  (`--e_updates '1;KL_fake:1,KL_real:1,match_z:0,match_x:10' --g_updates '2;KL_fake:1,match_z:1000,match_x:0'`).
  One harness step here is that whole iteration.
- z is drawn from N(0, I) and projected onto the unit sphere (`--noise sphere`); the encoder's output
  is projected likewise.
- The nets are DCGAN's (`models/dcgan32px.py`): G fractional-strided convs with BN-ReLU and a tanh
  output, E strided convs with BN-LeakyReLU(0.2) down to a z_dim-channel output; N(0, 0.02) init;
  Adam lr 2e-4, β1 0.5, batch 64, nz 128.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.dcgan import Discriminator, Generator
from reproductions.parts.autoencoders import batch_kl_to_standard_normal
from reproductions.parts.blocks import init_normal_all, ladder


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 128  # nz of the CIFAR-10 command
    g_width: int = 64  # ngf
    d_width: int = 64  # ndf: the encoder's first width
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    reconstruction_weight: float = 10.0  # λ: the encoder's data-space L1 (match_x)
    latent_reconstruction_weight: float = 1000.0  # μ: the generator's latent cos distance (match_z)
    g_updates: int = 2  # generator steps per encoder step
    leaky_slope: float = 0.2
    init_std: float = 0.02


def to_sphere(v: torch.Tensor) -> torch.Tensor:
    """Project each row onto the unit sphere."""
    return v / v.norm(dim=1, keepdim=True)


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The released code's `match(..., 'cos')`: 2 − mean over all entries of â ⊙ b̂ (rows unit-normalised)."""
    return 2 - (to_sphere(a) * to_sphere(b)).mean()


class Encoder(nn.Module):
    """DCGAN's D with a z_dim-channel last convolution (with bias, as the code's), projected onto the sphere."""

    def __init__(self, channels: int, resolution: int, width: int, z_dim: int, slope: float):
        super().__init__()
        self.body = Discriminator(channels, resolution, width, slope).net
        start, downs = ladder(resolution)
        self.body[-1] = nn.Conv2d(width * 2 ** (downs - 1), z_dim, start, 1, 0, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_sphere(self.body(x).flatten(1))


class AGE(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.g_updates < 1:
            raise ValueError(f"g_updates must be at least 1, got {hp.g_updates}")
        self.G = Generator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
        self.E = Encoder(data.channels, data.resolution, hp.d_width, hp.z_dim, hp.leaky_slope).to(device)
        init_normal_all(hp.init_std, self.G, self.E)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_E = torch.optim.Adam(self.E.parameters(), lr=hp.lr, betas=betas)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z uniform on the unit sphere: a normal draw, normalised (`--noise sphere`)."""
        return to_sphere(super().noise(n, generator))

    def encoder_loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """−V plus λ·L1: the encoder maximises Δ(e(g(z))) − Δ(e(x)) and reconstructs x through g."""
        ex = self.E(x)
        kl_real = batch_kl_to_standard_normal(ex)
        reconstruction = (self.G(ex) - x).abs().mean()  # g is frozen: only e learns from it
        fake = self.G(self.noise(len(x))).detach()
        kl_fake = batch_kl_to_standard_normal(self.E(fake))
        total = kl_real - kl_fake + self.hp.reconstruction_weight * reconstruction
        return {"loss_e": total, "kl_real": kl_real, "kl_fake": kl_fake, "reconstruction": reconstruction}

    def generator_loss(self, n: int) -> dict[str, torch.Tensor]:
        """V's generator part plus μ·latent cos distance: g makes e(g(z)) look like the prior and return z."""
        z = self.noise(n)
        egz = self.E(self.G(z))
        kl_fake = batch_kl_to_standard_normal(egz)
        latent = cosine_distance(egz, z)
        return {"loss_g": kl_fake + self.hp.latent_reconstruction_weight * latent, "kl_fake_g": kl_fake,
                "latent_reconstruction": latent}

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        x = real[-1].images
        with frozen(self.G):
            e_out = self.encoder_loss(x)
            self.update(self.opt_E, e_out["loss_e"])
        with frozen(self.E):
            for _ in range(self.hp.g_updates):
                g_out = self.generator_loss(len(x))
                self.update(self.opt_G, g_out["loss_g"])
        return {k: v.detach() for k, v in {**e_out, **g_out}.items()}


REPRODUCTION = AGE
