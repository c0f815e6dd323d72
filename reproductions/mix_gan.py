"""MIX+GAN — Arora, Ge, Liang, Ma & Zhang, "Generalization and Equilibrium in Generative Adversarial
Nets (GANs)", ICML 2017 (arXiv 1703.00573), its MIX+GANs section, applied to DCGAN (MIX+DCGAN).

The theory says an approximate equilibrium exists when each player may play a mixture of a few
networks; MIX+GAN trains such mixtures directly:
- T generators G_{u_1..u_T} and T discriminators D_{v_1..v_T}, each a DCGAN network
  (`reproductions/dcgan.py`'s Generator / Discriminator, initialisation and Adam settings).
- Mixture weights through a softmax of learned logits: w_{u_i} = exp(α_{u_i}) / Σ_k exp(α_{u_k}),
  likewise w_{v_j}; the logits are trained by backpropagation with their player's networks.
- The payoff is the expectation over pairs: Σ_{i,j} w_{u_i} w_{v_j} F(u_i, v_j), F the DCGAN
  objective E_x log D(x) + E_z log(1 − D(G(z))); the generators play its non-saturating form, as
  DCGAN does.
- An entropy regulariser keeps the weights from collapsing onto one component: each player adds
  −λ·H(w), H(w) = −Σ w log w, to the loss it minimises. λ = 0.1 (the released CIFAR code's
  `mix_entloss_weight`; that code writes the term as the cross-entropy −(1/T)Σ log w_i, which like
  −H is smallest at uniform weights).
- T = 5 components, as in the released CIFAR-10 code (ng = nd = 5).
Sampling (`sample`): each sample's generator is drawn from the categorical distribution w_u.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.dcgan import Discriminator, Generator
from reproductions.parts.blocks import init_normal_all
from reproductions.parts.losses import d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    components: int = 5  # T, for generators and discriminators alike
    entropy_weight: float = 0.1  # λ of the −λ·H(w) regulariser
    z_dim: int = 100  # DCGAN's settings for every component
    g_width: int = 64
    d_width: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02
    resolution: int | None = None


class Mixture(nn.Module):
    """Softmax mixture weights over T components, from learned logits (initially uniform)."""

    def __init__(self, components: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(components))

    def weights(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=0)

    def entropy(self) -> torch.Tensor:
        """H(w) = −Σ w log w (log-softmax for stability)."""
        return -(self.weights() * torch.log_softmax(self.logits, dim=0)).sum()

    def regulariser(self, strength: float) -> torch.Tensor:
        """−λ·H(w): added to a loss that is minimised, it rewards spreading the weight."""
        return -strength * self.entropy()

    def draw(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n component indices from Categorical(w)."""
        return torch.multinomial(self.weights().detach(), n, replacement=True, generator=generator)


class MIXGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.components < 1:
            raise ValueError(f"components must be ≥ 1, got {hp.components}")
        self.Gs = nn.ModuleList(Generator(hp.z_dim, data.channels, data.resolution, hp.g_width)
                                for _ in range(hp.components)).to(device)
        self.Ds = nn.ModuleList(Discriminator(data.channels, data.resolution, hp.d_width, hp.leaky_slope)
                                for _ in range(hp.components)).to(device)
        init_normal_all(hp.init_std, *self.Gs, *self.Ds)
        self.G_mix = Mixture(hp.components).to(device)  # w_u
        self.D_mix = Mixture(hp.components).to(device)  # w_v
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam([*self.Gs.parameters(), *self.G_mix.parameters()], lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam([*self.Ds.parameters(), *self.D_mix.parameters()], lr=hp.lr, betas=betas)

    def discriminator_loss(self, real: torch.Tensor, fakes: Sequence[torch.Tensor]) -> torch.Tensor:
        """−Σ_{i,j} w_{u_i} w_{v_j} F(u_i, v_j) − λ·H(w_v). Real and generated images go through each
        D as separate batches (DCGAN's batchnorm). Since Σ_i w_{u_i} = 1 the real term of each D_j is
        weighted by w_{v_j} alone; w_u is held fixed here (it is the generators' to choose)."""
        w_u, w_v = self.G_mix.weights().detach(), self.D_mix.weights()
        total = torch.zeros((), device=self.device)
        for j, D in enumerate(self.Ds):
            d_real = D(real)
            for i, fake in enumerate(fakes):
                total = total + w_u[i] * w_v[j] * d_loss_gan(d_real, D(fake))  # d_loss_gan = −F
        return total + self.D_mix.regulariser(self.hp.entropy_weight)

    def generator_loss(self, fakes: Sequence[torch.Tensor]) -> torch.Tensor:
        """Σ_{i,j} w_{u_i} w_{v_j} (−E log D_j(G_i(z))) − λ·H(w_u), w_v held fixed."""
        w_u, w_v = self.G_mix.weights(), self.D_mix.weights().detach()
        total = torch.zeros((), device=self.device)
        for i, fake in enumerate(fakes):
            for j, D in enumerate(self.Ds):
                total = total + w_u[i] * w_v[j] * g_loss_nonsaturating(D(fake))
        return total + self.G_mix.regulariser(self.hp.entropy_weight)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            z = self.noise(len(batch))  # one z batch for every generator, as the released code
            with torch.no_grad():
                fakes = [G(z) for G in self.Gs]
            loss_d = self.discriminator_loss(batch.images, fakes)
            self.update(self.opt_D, loss_d)

        with frozen(self.Ds):
            z = self.noise(len(real[-1]))
            loss_g = self.generator_loss([G(z) for G in self.Gs])
            self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "entropy_g_weights": self.G_mix.entropy().detach(), "entropy_d_weights": self.D_mix.entropy().detach(),
                "max_g_weight": self.G_mix.weights().detach().max()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Each sample from G_i with i ~ Categorical(w_u); batchnorm from running statistics."""
        z = self.noise(n, generator)
        which = self.G_mix.draw(n, generator)
        images = torch.empty(n, self.data.channels, self.data.resolution, self.data.resolution, device=self.device)
        with self.sampling_mode(self.Gs):
            for i, G in enumerate(self.Gs):
                chosen = which == i
                if chosen.any():
                    images[chosen] = G(z[chosen])
        return images


REPRODUCTION = MIXGAN
