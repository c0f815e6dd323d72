"""f-GAN — Nowozin, Cseke & Tomioka, "f-GAN: Training Generative Neural Samplers using Variational
Divergence Minimization", NeurIPS 2016 (arXiv 1606.00709).

Read alongside section 2 (the variational bound), section 3 (Algorithm 1) and section 4 (MNIST).
Any f-divergence has the variational lower bound (eq. 4)
    D_f(P‖Q) ≥ sup_T E_P[T(x)] − E_Q[f*(T(x))],
with f* the Fenchel conjugate of f (Table 2). Writing T = g_f(V_ω(x)) with an output activation g_f
that maps R into the domain of f* (Table 6) gives the saddle objective (eq. 6)
    F(θ, ω) = E_P[g_f(V_ω(x))] + E_{Q_θ}[−f*(g_f(V_ω(x)))],
maximised by the variational function V_ω and minimised by the sampler Q_θ. Both sides live in
`reproductions.parts.losses` (`d_loss_f` = −F, `g_loss_f`); `divergence` picks f: kl, reverse-kl, pearson,
squared-hellinger, jensen-shannon or gan (the paper's Tables 2 and 6).

Algorithm 1 ("single-step gradient method"): each iteration draws one minibatch of data and one of
z, computes the gradients of F with respect to ω and θ at the *same* point, and moves ω up and θ
down simultaneously. As in the paper's experiments (section 3.2), θ's step maximises
E_Q[g_f(V_ω(G(z)))] instead of minimising F (same fixed point, stronger gradients early on).

Section 4, MNIST: z ~ Uniform(−1, 1)^100; G has two linear layers of 1200 units, each followed by
batch normalisation and ReLU, and a final linear layer with a sigmoid; V has three linear layers
with exponential linear units in between, its last activation being g_f. Adam, α = 0.0002,
β1 = 0.5, batch 4096, one hour of training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.losses import d_loss_f, g_loss_f

Divergence = Literal["kl", "reverse-kl", "pearson", "squared-hellinger", "jensen-shannon", "gan"]


@dataclass(frozen=True)
class Hyperparameters:
    # The paper trains every divergence of Table 4; none is "the" default. Jensen-Shannon is the one
    # the original GAN objective approximates (its "GAN" row is 2·D_JS − log 4), and its g_f ≤ log 2.
    divergence: Divergence = "jensen-shannon"
    z_dim: int = 100  # section 4: z ~ Uniform_100(−1, 1)
    g_hidden: int = 1200  # two hidden layers of 1200 units
    v_hidden: int = 240  # the paper does not give V's width; 240 is the MNIST discriminator width of Goodfellow et al. 2014
    lr: float = 2e-4  # section 4: "Adam with a learning rate of α = 0.0002 and update weight β = 0.5"
    beta1: float = 0.5
    beta2: float = 0.999


class Generator(nn.Module):
    """z → [linear → BN → ReLU] × 2 → linear → sigmoid, reshaped to an image (section 4)."""

    def __init__(self, z_dim: int, hidden: int, shape: tuple[int, int, int]):
        super().__init__()
        self.shape = shape
        out = shape[0] * shape[1] * shape[2]
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, out),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # The paper's sigmoid produces pixels in [0, 1]; 2·sigmoid − 1 is the same output in the
        # [−1, 1] range the harness's data and evaluation use (an affine relabelling of pixel values).
        return (2 * torch.sigmoid(self.net(z)) - 1).view(z.shape[0], *self.shape)


class VariationalFunction(nn.Module):
    """V_ω: three linear layers with ELUs in between; the divergence's g_f is applied by the loss."""

    def __init__(self, in_features: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ELU(),
            nn.Linear(hidden, hidden), nn.ELU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).flatten()


class FGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        shape = (data.channels, data.resolution, data.resolution)
        self.G = Generator(hp.z_dim, hp.g_hidden, shape).to(device)
        self.D = VariationalFunction(shape[0] * shape[1] * shape[2], hp.v_hidden).to(device)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        u = torch.rand(n, self.hp.z_dim, device=self.device, generator=generator)
        return 2 * u - 1  # Uniform(−1, 1)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        # Algorithm 1 takes one minibatch per iteration (d_steps is 1: this module has no n_critic).
        batch = real[-1]
        fake = self.G(self.noise(len(batch)))
        v_real, v_fake = self.D(batch.images), self.D(fake)
        loss_d = d_loss_f(v_real, v_fake, self.hp.divergence)  # −F(θ, ω), eq. (6)
        loss_g = g_loss_f(v_fake, self.hp.divergence)  # −E_Q[g_f(V_ω(G(z)))], section 3.2
        # Algorithm 1: both gradients are taken at the same (θ_t, ω_t), then both parameters move.
        self.opt_D.zero_grad(set_to_none=True)
        self.opt_G.zero_grad(set_to_none=True)
        loss_d.backward(inputs=list(self.D.parameters()), retain_graph=True)
        loss_g.backward(inputs=list(self.G.parameters()))
        self.opt_D.step()
        self.opt_G.step()
        # −loss_d is the current variational lower bound on D_f(P‖Q_θ) (eq. 4).
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "divergence_estimate": -loss_d.detach()}


REPRODUCTION = FGAN
