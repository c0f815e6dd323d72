"""EBGAN — Zhao, Mathieu & LeCun, "Energy-based Generative Adversarial Network", ICLR 2017 (arXiv 1609.03126).

D is an energy function, here an autoencoder whose energy is its reconstruction error; D gives low
energy to data and high energy to samples, up to a margin, and G produces samples of low energy.

Read alongside the paper:
- Section 2.1, eq. 1-2, the objective with a positive margin m:
      L_D(x, z) = D(x) + [m − D(G(z))]⁺,        L_G(z) = D(G(z)).
- Section 2.3, eq. 4: the autoencoder discriminator, D(x) = ‖Dec(Enc(x)) − x‖
  (`reproductions.parts.energy.reconstruction_energy`).
- Section 2.4, eq. 7: the "repelling regularizer", the pulling-away term f_PT on the encoder's
  representations S of the generated batch, added to G's loss only (`parts.energy.pulling_away_term`);
  EBGAN-PT weighs it by λ_PT = 0.1 (section 4).
- Section 4.1 / appendix (the exhaustive MNIST grid search): fully connected G and autoencoder D,
  ReLU and batch normalisation in G's hidden layers; nLayerG / sizeG the G's depth and width,
  nLayerD / sizeD the D's. Our defaults are the setting we take for the grid's best EBGAN-PT on MNIST
  (G 5 layers of 800 units, D one 1,024-unit code layer, Adam lr 0.001, m = 10, λ_PT = 0.1); see the
  registry entry's deviations for how sure that reading is.

The harness's images are in [-1, 1]; G ends in tanh and the energy is measured on those pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.energy import pulling_away_term, reconstruction_energy


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100
    g_layers: int = 5  # nLayerG: linear layers of G, the output layer included
    g_hidden: int = 800  # sizeG
    d_layers: int = 2  # nLayerD: linear layers of the autoencoder, split evenly into Enc and Dec
    d_hidden: int = 1024  # sizeD: width of D's hidden layers (the code S is the last encoder layer)
    margin: float = 10.0  # m of eq. 2
    pt_weight: float = 0.1  # λ_PT; 0 is plain EBGAN
    lr: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999


class Generator(nn.Module):
    """z → (g_layers − 1) × [Linear → BN → ReLU] of g_hidden → Linear → tanh image."""

    def __init__(self, z_dim: int, layers: int, hidden: int, shape: tuple[int, ...]):
        super().__init__()
        modules: list[nn.Module] = []
        width = z_dim
        for _ in range(layers - 1):
            modules += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU()]
            width = hidden
        modules += [nn.Linear(width, math.prod(shape)), nn.Tanh()]
        self.net = nn.Sequential(*modules)
        self.shape = shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class AutoencoderDiscriminator(nn.Module):
    """x → Enc (⌈d_layers / 2⌉ ReLU layers of d_hidden: the code S) → Dec (the rest, linear output) → x̂."""

    def __init__(self, pixels: int, layers: int, hidden: int):
        super().__init__()
        if layers < 2:
            raise ValueError("an autoencoder discriminator needs at least two layers (an encoder and a decoder)")
        enc_layers = (layers + 1) // 2
        enc: list[nn.Module] = []
        width = pixels
        for _ in range(enc_layers):
            enc += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        dec: list[nn.Module] = []
        for _ in range(layers - enc_layers - 1):
            dec += [nn.Linear(width, hidden), nn.ReLU()]
        dec.append(nn.Linear(width, pixels))
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(energy D(x) per example, the code S)."""
        flat = x.flatten(1)
        code = self.encoder(flat)
        return reconstruction_energy(flat, self.decoder(code)), code


def discriminator_loss(real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 1: D(x) + [m − D(G(z))]⁺, averaged over the batch."""
    return real_energy.mean() + torch.relu(margin - fake_energy).mean()


def generator_loss(fake_energy: torch.Tensor, fake_codes: torch.Tensor, pt_weight: float) -> torch.Tensor:
    """Eq. 2 plus section 2.4's λ_PT · f_PT(S) on the generated batch's codes."""
    loss = fake_energy.mean()
    if pt_weight > 0:
        loss = loss + pt_weight * pulling_away_term(fake_codes)
    return loss


class EBGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, hp.g_layers, hp.g_hidden, data.shape).to(device)
        self.D = AutoencoderDiscriminator(data.features, hp.d_layers, hp.d_hidden).to(device)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)))
            real_energy, _ = self.D(batch.images)
            fake_energy, _ = self.D(fake)
            loss_d = discriminator_loss(real_energy, fake_energy, self.hp.margin)
            self.update(self.opt_D, loss_d)

        self.D.requires_grad_(False)
        fake_energy, codes = self.D(self.G(self.noise(len(real[-1]))))
        loss_g = generator_loss(fake_energy, codes, self.hp.pt_weight)
        self.update(self.opt_G, loss_g)
        self.D.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "energy_real": real_energy.mean().detach(),
                "energy_fake": fake_energy.mean().detach()}


REPRODUCTION = EBGAN
