"""Denoising Feature Matching — Warde-Farley & Bengio, "Improving Generative Adversarial Networks with
Denoising Feature Matching", ICLR 2017 (OpenReview S1X7nhsxl).

Read alongside the paper's section 3 and section 5 (experimental set-up):

- Section 3: D = d ∘ Φ, a feature extractor Φ (D's layers up to its penultimate one) and a classifier
  d. D is trained as in the GAN paper. A denoising auto-encoder r(·) is trained on Φ of *real* data
  with a corruption C (eq. 5), so that r(h) - h estimates the score of the real feature distribution
  (Alain & Bengio 2014).
- Eq. 4, G's objective: λ_denoise ||Φ(G(z)) - r(Φ(G(z)))||² - λ_adv log D(G(z)), with r's output
  "treated as constant with respect to gradient computations": the denoised features are a fixed
  target that G's features regress towards.
- Section 5: C is isotropic Gaussian noise with σ = 1; the denoiser is deep and fully connected with
  ReLUs and batch normalisation in every layer except its output (10 hidden layers of 2,048 units on
  ImageNet, the only size stated); G and D follow DCGAN (Radford et al. 2016), data and samples
  batch-normalised separately; every network is trained with Adam, lr 1e-4, β1 0.5.

G and D are `reproductions.dcgan`'s nets; Φ is D's stack without its final logit convolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.dcgan import Discriminator, Generator
from reproductions.parts.blocks import init_normal_all, ladder
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 100
    g_width: int = 64
    d_width: int = 64
    lr: float = 1e-4  # section 5: Adam, 1e-4, β1 = 0.5, for all networks
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02
    corruption_std: float = 1.0  # section 5: "isotropic Gaussian corruption noise with σ = 1"
    denoiser_width: int = 2048  # section 5.3: "10 hidden layers of 2,048 rectified linear units"
    denoiser_depth: int = 10
    # λ_adv and λ_denoise of eq. 4: the paper states no values.
    adversarial_weight: float = 1.0
    denoise_weight: float = 1.0


class Denoiser(nn.Module):
    """r(·): `depth` dense ReLU layers with batch normalisation, then a linear output of the input size."""

    def __init__(self, features: int, width: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = features
        for _ in range(depth):
            layers += [nn.Linear(c_in, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            c_in = width
        layers.append(nn.Linear(c_in, features))  # no batch normalisation on the output layer
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


def denoiser_loss(denoiser: nn.Module, features: torch.Tensor, corruption_std: float) -> torch.Tensor:
    """Eq. 5 as a denoising auto-encoder: ||Φ(x) - r(C(Φ(x)))||², C adding N(0, σ²) noise, averaged over
    the batch and the k features. Φ(x) is a constant here (D is trained by its own loss only)."""
    clean = features.detach()
    corrupted = clean + corruption_std * torch.randn_like(clean)
    return (clean - denoiser(corrupted)).pow(2).mean()


def denoising_feature_matching(denoiser: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """Eq. 4's first term: ||Φ(G(z)) - r(Φ(G(z)))||² with r(·) a fixed target (no gradient through r),
    averaged over the batch and the k features."""
    with torch.no_grad():
        target = denoiser(features)
    return (features - target).pow(2).mean()


class DenoisingFeatureMatching(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = Generator(hp.z_dim, data.channels, data.resolution, hp.g_width).to(device)
        self.D = Discriminator(data.channels, data.resolution, hp.d_width, hp.leaky_slope).to(device)
        init_normal_all(hp.init_std, self.G, self.D)
        start, downs = ladder(data.resolution)
        features = hp.d_width * 2 ** (downs - 1) * start * start  # the channels and size of D's last hidden map
        self.R = Denoiser(features, hp.denoiser_width, hp.denoiser_depth).to(device)
        betas = (hp.beta1, hp.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)
        self.opt_R = torch.optim.Adam(self.R.parameters(), lr=hp.lr, betas=betas)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Φ(x): D's penultimate layer, flattened."""
        return self.D.net[:-1](x).flatten(1)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(Φ(x), D's logit d(Φ(x))) from one pass."""
        h = self.D.net[:-1](x)
        return h.flatten(1), self.D.net[-1](h).flatten()

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        for batch in real:
            # D: the GAN criterion; data and samples go through D as separate batches (section 5).
            fake = self.G(self.noise(len(batch))).detach()
            phi_real, d_real = self.discriminate(batch.images)
            _, d_fake = self.discriminate(fake)
            loss_d = d_loss_gan(d_real, d_fake)
            self.update(self.opt_D, loss_d)
            # r: eq. 5 on the real features of the same batch.
            loss_r = denoiser_loss(self.R, phi_real, self.hp.corruption_std)
            self.update(self.opt_R, loss_r)

        # G: eq. 4, the denoised features of its own samples as a fixed target plus -log D(G(z)).
        with frozen(self.D, self.R):
            phi_fake, d_gen = self.discriminate(self.G(self.noise(len(real[-1]))))
            loss_dfm = denoising_feature_matching(self.R, phi_fake)
            loss_adv = g_loss_nonsaturating(d_gen)
            loss_g = self.hp.denoise_weight * loss_dfm + self.hp.adversarial_weight * loss_adv
            self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "loss_denoiser": loss_r.detach(),
                "loss_g_denoise": loss_dfm.detach(), "loss_g_adv": loss_adv.detach(),
                "d_accuracy": binary_accuracy(d_real, d_fake).detach()}


REPRODUCTION = DenoisingFeatureMatching
