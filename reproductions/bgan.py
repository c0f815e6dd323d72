"""Boundary-Seeking GAN — Hjelm, Jacob, Che, Trischler, Cho & Bengio, "Boundary-Seeking Generative
Adversarial Networks", ICLR 2018 (arXiv 1702.08431).

D is trained as in the GAN; G is trained towards the *decision boundary* of D, where D(x) = ½ and the
density ratio p_data / p_G that D estimates is 1, by importance-weighting its own samples with
w(x) = D(x) / (1 − D(x)) (section 2.1, eq. 5: p_data(x) = w(x) p_G(x) for the optimal D).

Read alongside the paper:
- Section 2.2, continuous data (`variant = "continuous"`): G minimises
      ½ E_z [(log D(G(z)) − log(1 − D(G(z))))²] = ½ E_z [logit(G(z))²],
  the squared log-ratio, which is 0 on the boundary.
- Section 2.3 and Algorithm 1, discrete data (`variant = "discrete"`): G outputs the parameters of a
  conditional distribution g(x|z) (here a Bernoulli per pixel: quantised, binary MNIST); for each z
  draw M samples x⁽ᵐ⁾ ~ g(x|z), weight each by the self-normalised importance weight
      w̃⁽ᵐ⁾ = w(x⁽ᵐ⁾) / Σ_m' w(x⁽ᵐ'⁾) = softmax_m(logit D(x⁽ᵐ⁾)),
  and maximise Σ_m w̃⁽ᵐ⁾ log g(x⁽ᵐ⁾|z) (a REINFORCE-like estimator with no gradient through the sample).
  D sees all N·M samples against real data binarised at ½ grey.
- The nets are DCGAN's (`reproductions.dcgan`), as the paper's continuous image experiments use
  DCGAN-style architectures; Adam lr 2e-4, β1 0.5; M = 20 samples per z in the discrete case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch
import torch.nn.functional as F

from harness.batches import Batch
from harness.reproduction import DataSpec

from reproductions.dcgan import DCGAN
from reproductions.parts.losses import binary_accuracy, d_loss_gan


@dataclass(frozen=True)
class Hyperparameters:
    variant: Literal["continuous", "discrete"] = "continuous"
    samples_per_z: int = 20  # M of Algorithm 1 (discrete only)
    z_dim: int = 100
    z_distribution: Literal["normal", "uniform"] = "normal"
    g_width: int = 64
    d_width: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02
    resolution: int | None = None
    architecture: Literal["radford", "small-dc"] = "radford"
    g_lr: float | None = None


def boundary_seeking_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Section 2.2: ½ E[(log D − log(1 − D))²]; with D = sigmoid(logit) the log-ratio is the logit."""
    return 0.5 * fake_logits.pow(2).mean()


def importance_weights(fake_logits: torch.Tensor) -> torch.Tensor:
    """Algorithm 1's w̃ over the M samples of each z: logits (N, M) → softmax along M (w = e^logit)."""
    return torch.softmax(fake_logits, dim=1)


def discrete_generator_loss(log_likelihoods: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ_i Σ_m w̃_im log g(x_im | z_i); the weights are constants (no gradient into D)."""
    return -(importance_weights(fake_logits.detach()) * log_likelihoods).sum(1).mean()


def binarise(images: torch.Tensor) -> torch.Tensor:
    """Quantised MNIST: pixels in [-1, 1] thresholded at ½ grey to {−1, 1}."""
    return torch.where(images > 0, 1.0, -1.0).to(images.dtype)


class BGAN(DCGAN):
    Hyperparameters = Hyperparameters
    sampling = "running-stats"  # the paper's samples come from G at test time; we use running statistics

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)

    def pixel_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The discrete G: DCGAN's generator without its tanh, one Bernoulli logit per pixel."""
        return self.G.net[:-1](z.view(z.shape[0], self.hp.z_dim, 1, 1))

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        if self.hp.variant == "discrete":
            return self._discrete_step(real)
        for batch in real:
            fake = self.G(self.noise(len(batch))).detach()
            d_real, d_fake = self.D(batch.images), self.D(fake)
            loss_d = d_loss_gan(d_real, d_fake)
            self.update(self.opt_D, loss_d)
        self.D.requires_grad_(False)
        loss_g = boundary_seeking_loss(self.D(self.G(self.noise(len(real[-1])))))
        self.update(self.opt_G, loss_g)
        self.D.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_accuracy": binary_accuracy(d_real, d_fake).detach()}

    def _discrete_step(self, real: Sequence[Batch]) -> dict[str, torch.Tensor]:
        m = self.hp.samples_per_z
        for batch in real:
            n = len(batch)
            logits = self.pixel_logits(self.noise(n))  # (n, C, H, W)
            # no gradient through the draws
            draws = torch.bernoulli(torch.sigmoid(logits.detach()).unsqueeze(1).expand(n, m, *logits.shape[1:]))
            fake = (draws * 2 - 1).flatten(0, 1)  # n·m binary images in {−1, 1}
            d_real, d_fake = self.D(binarise(batch.images)), self.D(fake)
            loss_d = d_loss_gan(d_real, d_fake)
            self.update(self.opt_D, loss_d)

            # G: the same samples, weighted by D's (updated) estimate of p_data / p_G.
            with torch.no_grad():
                weights_logits = self.D(fake).view(n, m)
            log_g = -F.binary_cross_entropy_with_logits(
                logits.unsqueeze(1).expand_as(draws), draws, reduction="none").flatten(2).sum(2)  # (n, m)
            loss_g = discrete_generator_loss(log_g, weights_logits)
            self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_accuracy": binary_accuracy(d_real, d_fake).detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        with self.sampling_mode(self.G):
            z = self.noise(n, generator)
            if self.hp.variant == "continuous":
                return self.G(z)
            probabilities = torch.sigmoid(self.pixel_logits(z))
            return torch.bernoulli(probabilities, generator=generator) * 2 - 1


REPRODUCTION = BGAN
