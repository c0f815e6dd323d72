"""InfoGAN — Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable Representation
Learning by Information Maximizing Generative Adversarial Nets", NIPS 2016 (arXiv 1606.03657).

Read alongside the paper's sections 4-6 and appendix C.1 (MNIST):

- Section 4: the generator's input splits into incompressible noise z and latent codes c, and eq. 3
  regularises the game with the mutual information: min_G max_D V(D, G) − λ I(c; G(z, c)).
- Section 5, eq. 5: I is bounded below by L_I(G, Q) = E_{c~P(c), x~G(z,c)}[log Q(c|x)] + H(c),
  tight when Q(c|x) = P(c|x); eq. 6: min_{G,Q} max_D V(D, G) − λ L_I(G, Q).
- Section 6: Q shares all convolutional layers with D and adds one fully connected layer; a
  categorical code gets a softmax, a continuous code a factored Gaussian. λ = 1 for discrete codes.
- Section 7 / appendix C.1, MNIST: c₁ ~ Cat(K = 10, p = 0.1), c₂, c₃ ~ Unif(−1, 1), 62 noise dims (74
  inputs). D/Q: 4x4 conv 64 stride 2, lReLU → 4x4 conv 128 stride 2, BN, lReLU → FC 1024, BN, lReLU →
  D: FC 1 logit; Q: FC 128, BN, lReLU → FC code parameters. G: FC 1024 BN ReLU → FC 7·7·128 BN ReLU →
  4x4 up-conv 64 stride 2 BN ReLU → 4x4 up-conv 1 stride 2. Adam, lr 2e-4 for D and 1e-3 for G.
  lReLU leak 0.1 (appendix C).

The released code (github.com/openai/InfoGAN) fixes the rest: noise z ~ U(−1, 1), batch 128, Adam
β1 0.5, the continuous codes' Gaussian with its standard deviation fixed to 1, and both D (with Q) and G
minimising −λ·L_I on generated samples. The ladder is res/4 → res/2 → res, so 28 px and 32 px both work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.parts.blocks import init_normal_all
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 62
    categories: int = 10  # one 10-way categorical code c₁
    continuous_codes: int = 2  # c₂, c₃ ~ U(−1, 1)
    info_weight: float = 1.0  # λ
    learn_continuous_std: bool = False  # released code: fix_std=True (σ = 1); True lets Q predict log σ
    d_lr: float = 2e-4
    g_lr: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.1
    init_std: float = 0.02


def info_lower_bound(cat_logits: torch.Tensor, cat_code: torch.Tensor, mean: torch.Tensor,
                     log_std: torch.Tensor, cont_code: torch.Tensor) -> torch.Tensor:
    """Eq. 5's L_I = E[log Q(c|x)] + H(c) for a uniform categorical code and U(−1, 1) continuous codes.

    log Q(c₁|x) is the softmax log-probability of the drawn category; log Q(cⱼ|x) the factored Gaussian
    log-density N(cⱼ; μⱼ, σⱼ²). H(c) = log K + n·log 2 (the differential entropy of U(−1, 1) is log 2)
    is a constant: it moves no gradient, it only makes the logged value read as a bound on I(c; x)
    (for the categorical part, at most log K).
    """
    log_q_cat = -F.cross_entropy(cat_logits, cat_code, reduction="none")
    var = torch.exp(2 * log_std)
    log_q_cont = -0.5 * math.log(2 * math.pi) - log_std - (cont_code - mean) ** 2 / (2 * var)
    entropy = math.log(cat_logits.shape[1]) + cont_code.shape[1] * math.log(2.0)
    return (log_q_cat + log_q_cont.sum(dim=1)).mean() + entropy


class Generator(nn.Module):
    def __init__(self, in_dim: int, channels: int, resolution: int):
        super().__init__()
        if resolution % 4:
            raise ValueError(f"InfoGAN's MNIST generator up-samples res/4 → res twice; {resolution} is not a multiple of 4")
        self.start = resolution // 4
        self.fc = nn.Sequential(
            nn.Linear(in_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 128 * self.start**2), nn.BatchNorm1d(128 * self.start**2), nn.ReLU(),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh(),  # the paper's Bernoulli mean → tanh
        )

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.conv(self.fc(latent).view(latent.shape[0], 128, self.start, self.start))


class DiscriminatorQ(nn.Module):
    """D and Q on one shared body (section 6): D's logit and Q's code parameters from the same features."""

    def __init__(self, channels: int, resolution: int, q_out: int, slope: float):
        super().__init__()
        size = resolution // 4
        self.body = nn.Sequential(
            nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(slope),
            nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(slope),
            nn.Flatten(), nn.Linear(128 * size * size, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(slope),
        )
        self.d_head = nn.Linear(1024, 1)
        self.q_head = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(slope), nn.Linear(128, q_out))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.d_head(h).flatten(), self.q_head(h)


class InfoGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        latent = hp.z_dim + hp.categories + hp.continuous_codes
        q_out = hp.categories + hp.continuous_codes * (2 if hp.learn_continuous_std else 1)
        self.G = Generator(latent, data.channels, data.resolution).to(device)
        self.D = DiscriminatorQ(data.channels, data.resolution, q_out, hp.leaky_slope).to(device)
        init_normal_all(hp.init_std, self.G, self.D, batchnorm=False)
        # Q lives inside self.D, so D's optimiser (lr 2e-4) trains Q too, as in the released code.
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.d_lr, betas=(hp.beta1, hp.beta2))
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.g_lr, betas=(hp.beta1, hp.beta2))

    def codes(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z ~ U(−1, 1)^62, c₁ ~ Cat(10), c₂.. ~ U(−1, 1))."""
        hp = self.hp
        z = torch.rand(n, hp.z_dim, device=self.device, generator=generator) * 2 - 1
        cat = torch.randint(hp.categories, (n,), device=self.device, generator=generator)
        cont = torch.rand(n, hp.continuous_codes, device=self.device, generator=generator) * 2 - 1
        return z, cat, cont

    def generate(self, z: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        return self.G(torch.cat([z, F.one_hot(cat, self.hp.categories).float(), cont], dim=1))

    def q_posterior(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Split Q's output into (categorical logits, Gaussian means, Gaussian log σ)."""
        k, n = self.hp.categories, self.hp.continuous_codes
        logits, mean = q[:, :k], q[:, k : k + n]
        log_std = q[:, k + n :] if self.hp.learn_continuous_std else torch.zeros_like(mean)
        return logits, mean, log_std

    def info_loss(self, q: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(λ·(−L_I), L_I): the term eq. 6 adds to both D/Q's and G's losses."""
        logits, mean, log_std = self.q_posterior(q)
        lower_bound = info_lower_bound(logits, cat, mean, log_std, cont)
        return -self.hp.info_weight * lower_bound, lower_bound

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        # D (and Q through the shared body) minimise −V and −λ·L_I; real and fake pass through D
        # separately so batchnorm never mixes them (released code).
        for batch in real:
            z, cat, cont = self.codes(len(batch))
            fake = self.generate(z, cat, cont).detach()
            d_real, _ = self.D(batch.images)
            d_fake, q_fake = self.D(fake)
            info_d, _ = self.info_loss(q_fake, cat, cont)
            loss_d = d_loss_gan(d_real, d_fake) + info_d
            self.update(self.opt_D, loss_d)

        # G: non-saturating adversarial loss (released code: −log D(G(z, c))) minus λ·L_I.
        z, cat, cont = self.codes(len(real[-1]))
        d_gen, q_gen = self.D(self.generate(z, cat, cont))
        info_g, mi = self.info_loss(q_gen, cat, cont)
        loss_g = g_loss_nonsaturating(d_gen) + info_g
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "info_lower_bound": mi.detach(),
                "d_accuracy": binary_accuracy(d_real, d_fake).detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Codes from their priors (InfoGAN is unsupervised: `labels` are not its categories)."""
        with self.sampling_mode(self.G):
            return self.generate(*self.codes(n, generator))


REPRODUCTION = InfoGAN
