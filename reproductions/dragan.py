"""DRAGAN — Kodali, Abernethy, Hays & Kira, "On Convergence and Stability of GANs" (arXiv 1705.07215);
code: github.com/kodalinaveen3/DRAGAN.

The paper's method (section 5, "How to Train Your DRAGAN"): keep the GAN objective and penalise the
discriminator's gradient only near the real data, where no-regret play gets stuck at sharp local
equilibria:  L_D = L_GAN + λ·E[(‖∇_x D(x̂)‖ − k)²],  x̂ a perturbed real point, k = 1, λ = 10.
The released notebook fixes how x̂ is drawn (`get_perturbed_batch` + an interpolation):
x̂ = x + α·0.5·std(x)·u, u ~ U[0, 1)^d, α ~ U[0, 1] per example, and penalises D's logit; its
optimiser is Adam, lr 1e-4, β = (0.5, 0.9), z ~ U(−1, 1). Those are the defaults here
(`reproductions.parts.regularizers.perturbed_real_penalty`).

The networks are DCGAN's (`reproductions.dcgan`), the architecture the paper's image experiments
penalise; the notebook's own MNIST model is a one-hidden-layer MLP (see the registry's deviations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch

from harness.batches import Batch

from reproductions.dcgan import DCGAN
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating
from reproductions.parts.regularizers import perturbed_real_penalty


@dataclass(frozen=True)
class Hyperparameters:
    gp_weight: float = 10.0  # λ (the notebook's lambd; the paper's experiments)
    perturbation: float = 0.5  # x + 0.5·std(x)·U[0, 1) (get_perturbed_batch)
    target_norm: float = 1.0  # k
    z_dim: int = 100  # the notebook's z_dim, z ~ U(−1, 1)
    z_distribution: Literal["normal", "uniform"] = "uniform"
    g_width: int = 64
    d_width: int = 64
    lr: float = 1e-4  # the notebook's Adam for both players
    beta1: float = 0.5
    beta2: float = 0.9
    leaky_slope: float = 0.2
    init_std: float = 0.02
    resolution: int | None = None
    architecture: Literal["radford", "small-dc"] = "radford"
    g_lr: float | None = None


class DRAGAN(DCGAN):
    Hyperparameters = Hyperparameters
    # The released notebook's nets have no batch norm, so no sampling mode of its own to follow; DCGAN's
    # batch norm is run with its running statistics, so a sample never depends on its batch-mates.
    sampling = "running-stats"

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        hp = self.hp
        for batch in real:
            fake = self.G(self.noise(len(batch))).detach()
            d_real, d_fake = self.D(batch.images), self.D(fake)
            penalty = perturbed_real_penalty(self.D, batch.images, hp.perturbation, hp.target_norm)
            loss_d = d_loss_gan(d_real, d_fake) + hp.gp_weight * penalty
            self.update(self.opt_D, loss_d)
        loss_g = g_loss_nonsaturating(self.D(self.G(self.noise(len(real[-1])))))
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "gradient_penalty": penalty.detach(),
                "d_accuracy": binary_accuracy(d_real, d_fake).detach()}


REPRODUCTION = DRAGAN
