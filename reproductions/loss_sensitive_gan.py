"""Loss-Sensitive GAN — Qi, "Loss-Sensitive Generative Adversarial Networks on Lipschitz Densities",
IJCV 2019 / arXiv 1701.06264.

Instead of a classifier, LS-GAN learns a loss function L_θ(x) ≥ 0 that must give every real
example a smaller loss than a generated one *by a margin that grows with how different they are*,
and G minimises the loss of its samples.

Read alongside the paper and its released code (github.com/guojunq/lsgan, `lsgan.lua`), which fixes
the settings:
- Section 3, eq. 5-6 (the objective for θ), with the data-dependent margin Δ(x, G(z)):
      min_θ  E_x L_θ(x) + λ E_{x, z} (Δ(x, G(z)) + L_θ(x) − L_θ(G(z)))₊
  The code drops the first term (`gamma = 0`: "the theorem shows this term can be ignored") and
  scales Δ instead: the hinge is `relu(τ·‖x − G(z)‖₁ + L(x) − L(G(z)))` with τ = 0.0002 (`lambda`,
  "actually tau in the original paper"), Δ the L1 distance summed over pixels (PairwiseDistance(1)).
- Eq. 7 (the objective for φ): min_φ E_z L_θ(G_φ(z)), on the very samples D's step just saw.
- Section 3 / Lipschitz regularity: the paper keeps L_θ Lipschitz by weight decay; the released
  code's `decay_rate` is 0 (a comment suggests 5e-5); both are `weight_decay` here, default the code's.
- Section 6 / the code's nets: DCGAN's G and D (`reproductions.dcgan`) with D's output passed through
  a ReLU so L_θ ≥ 0, conv layers without biases, N(0, 0.02) weights; z ~ U[-1, 1]¹⁰⁰; Adam lr 1e-4,
  β1 0.5; batch 64; one D step then one G step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.dcgan import Discriminator, Generator
from reproductions.parts.blocks import init_normal


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100
    g_width: int = 64  # ngf
    d_width: int = 64  # ndf
    margin_scale: float = 0.0002  # τ: Δ(x, G(z)) = τ · ‖x − G(z)‖₁
    real_loss_weight: float = 0.0  # the code's gamma on E_x L_θ(x) (eq. 5's first term); 0 as released
    weight_decay: float = 0.0  # the code's decay_rate (0; its comment suggests 5e-5)
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02


class LossFunction(nn.Module):
    """L_θ: DCGAN's discriminator followed by a ReLU, so the loss of every example is ≥ 0."""

    def __init__(self, channels: int, resolution: int, width: int, slope: float):
        super().__init__()
        self.net = Discriminator(channels, resolution, width, slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x))


def margin(real: torch.Tensor, fake: torch.Tensor, scale: float) -> torch.Tensor:
    """Δ(x, G(z)) = τ · ‖x − G(z)‖₁ per pair, summed over pixels; no gradient flows into G through it
    (the code: "for discriminator this will become constant")."""
    return scale * (real - fake.detach()).flatten(1).abs().sum(1)


def loss_function_objective(real_losses: torch.Tensor, fake_losses: torch.Tensor, margins: torch.Tensor,
                            real_weight: float = 0.0) -> torch.Tensor:
    """Eq. 6 as the code minimises it: mean (Δ + L(x) − L(G(z)))₊, plus γ · mean L(x)."""
    hinge = torch.relu(margins + real_losses - fake_losses).mean()
    return hinge + real_weight * real_losses.mean()


class LossSensitiveGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
        self.D = LossFunction(data.channels, data.resolution, hp.d_width, hp.leaky_slope).to(device)
        for net in (self.G, self.D):
            net.apply(lambda m: init_normal(m, hp.init_std))
        betas = (hp.beta1, hp.beta2)
        # The code adds decay_rate·θ to both gradients before Adam: Adam's own (L2) weight_decay.
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas, weight_decay=hp.weight_decay)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas, weight_decay=hp.weight_decay)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The code's noise = 'uniform': z ~ U[-1, 1]."""
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator) * 2 - 1

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            fake = self.G(self.noise(len(batch)))
            real_losses, fake_losses = self.D(batch.images), self.D(fake.detach())
            margins = margin(batch.images, fake, self.hp.margin_scale)
            loss_d = loss_function_objective(real_losses, fake_losses, margins, self.hp.real_loss_weight)
            self.update(self.opt_D, loss_d)

        # Eq. 7 on the same generated batch (the code's fGx reuses input_fakeimg and its noise).
        self.D.requires_grad_(False)
        loss_g = self.D(fake).mean()
        self.update(self.opt_G, loss_g)
        self.D.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "loss_real": real_losses.mean().detach(),
                "margin": margins.mean().detach()}


REPRODUCTION = LossSensitiveGAN
