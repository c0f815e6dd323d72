"""WGAN — Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017 (arXiv 1701.07875).

Read alongside section 3 (eq. 3: the Kantorovich-Rubinstein dual of the Earth-Mover distance) and
Algorithm 1. The critic f_w has no sigmoid; it maximises
    E_x[f_w(x)] − E_z[f_w(g_θ(z))]                                                    (eq. 3)
over a family of K-Lipschitz functions, which the paper enforces by clamping every critic weight
to [−c, c] after each critic update (Algorithm 1, line 7). G minimises −E_z[f_w(g_θ(z))]
(line 10). Algorithm 1's defaults: α = 0.00005, c = 0.01, m = 64, n_critic = 5, RMSProp
(section 3: momentum-based optimisers such as Adam made training unstable).

The reference code (github.com/martinarjovsky/WassersteinGAN, main.py) trains the critic for 100
iterations instead of n_critic during the first 25 generator iterations and on every 500th one, so
the critic is near-optimal early and from time to time; `d_steps()` implements that schedule and
`critic_boost=False` turns it off (plain Algorithm 1).

Section 4 trains the DCGAN architecture (generator and critic) on LSUN bedrooms; we use the DCGAN
module's networks — batchnorm in both, strided convolutions — built for 28 or 32 px. As in the
reference code, the clamp covers every critic parameter, batchnorm's scale and shift included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.dcgan import Discriminator, Generator
from reproductions.parts.blocks import init_normal_all
from reproductions.parts.losses import d_loss_wasserstein, g_loss_wasserstein
from reproductions.parts.regularizers import clip_weights


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100  # the reference code's nz
    g_width: int = 64  # DCGAN widths (the reference code's ngf / ndf)
    d_width: int = 64
    lr: float = 5e-5  # Algorithm 1: α = 0.00005, RMSProp
    clip: float = 0.01  # Algorithm 1: c = 0.01
    d_steps_per_g_step: int = 5  # Algorithm 1: n_critic = 5
    critic_boost: bool = True  # reference code: 100 critic iterations early on and every 500th G step
    boost_d_steps: int = 100
    boost_first_g_steps: int = 25
    boost_every: int = 500
    leaky_slope: float = 0.2
    init_std: float = 0.02


class WGAN(Reproduction):
    Hyperparameters = Hyperparameters
    # martinarjovsky/WassersteinGAN generates its samples with netG in train mode: batch statistics.
    sampling = "batch-stats"

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
        # The DCGAN discriminator ends in a raw output (its sigmoid lives in the loss), so it is a critic as is.
        self.D = Discriminator(data.channels, data.resolution, hp.d_width, hp.leaky_slope).to(device)
        init_normal_all(hp.init_std, self.G, self.D)
        self.opt_G = torch.optim.RMSprop(self.G.parameters(), lr=hp.lr)
        self.opt_D = torch.optim.RMSprop(self.D.parameters(), lr=hp.lr)

    def d_steps(self, step: int) -> int:
        """n_critic for G step `step`, with the reference code's warm-up and periodic boosts:
        `Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0 else 5`."""
        hp = self.hp
        if hp.critic_boost and (step < hp.boost_first_g_steps or step % hp.boost_every == 0):
            return hp.boost_d_steps
        return hp.d_steps_per_g_step

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        # Algorithm 1, lines 2-8: n_critic critic updates, each followed by the clamp.
        for batch in real:
            with torch.no_grad():
                fake = self.G(self.noise(len(batch)))
            loss_d = d_loss_wasserstein(self.D(batch.images), self.D(fake))  # −(eq. 3), minimised
            self.update(self.opt_D, loss_d)
            clip_weights(self.D, self.hp.clip)  # line 7: w ← clip(w, −c, c)

        # Algorithm 1, lines 9-10: one generator update on −E[f_w(g_θ(z))].
        with frozen(self.D):
            loss_g = g_loss_wasserstein(self.D(self.G(self.noise(len(real[-1])))))
            self.update(self.opt_G, loss_g)
        # −loss_d is the critic's estimate of the EM distance (up to the Lipschitz constant K), the
        # quantity the paper plots (section 4.2) as correlating with sample quality.
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "wasserstein_estimate": -loss_d.detach()}


REPRODUCTION = WGAN
