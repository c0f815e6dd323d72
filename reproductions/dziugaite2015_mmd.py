"""MMD nets — Dziugaite, Roy & Ghahramani, "Training generative neural networks via Maximum Mean
Discrepancy optimization", UAI 2015 (arXiv 1505.03906).

Not a GAN: a generator network G trained by minimising a two-sample test statistic between its
samples and the data, with no discriminator ("the MMD statistic plays the role of the
discriminator"). It samples through the same `sample` as any generator here and is scored like one.

Read alongside the paper:
- The abstract: the statistic is an *unbiased* estimate of the maximum mean discrepancy,
  MMD²_u, the U-statistic of Gretton et al. (2012, eq. 3) — the within-set means leave out the
  i = j terms — and it is MMD²_u itself that is minimised (it can go below 0), not its square root
  as in GMMN. `reproductions.parts.mmd.mmd_squared(..., "unbiased")`.
- The kernel: a Gaussian RBF kernel (as we recall the paper's; not re-read) k(x, y) = exp(−‖x − y‖² / (2σ)) on the pixel
  vectors. Its bandwidth here is set per minibatch by the median heuristic on the pooled sample
  (`median_bandwidth`), or fixed with `bandwidths` (a sum of kernels, as in `reproductions.gmmn`).
- Training: minibatch stochastic gradient on MMD²_u between a batch of G's samples and
  a batch of data; G maps low-dimensional noise through ReLU layers to sigmoid pixels in [0, 1].

Only the abstract could be read in this session, so no section of the paper is cited for the rest:
the MNIST network, noise, bandwidth rule and optimiser are our choices, listed under the entry's
`deviations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.gmmn import UniformGenerator
from reproductions.parts.mmd import Estimator, median_bandwidth, mmd_squared


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 10  # uniform noise on [-1, 1]^z_dim (our choice, as GMMN's)
    g_widths: tuple[int, ...] = (1000, 1000)  # ReLU layers, noise side first (our choice)
    # Fixed kernel bandwidths σ in exp(−d² / (2σ)), on [0, 1] pixels; empty: the median heuristic per batch.
    bandwidths: tuple[float, ...] = ()
    estimator: Estimator = "unbiased"  # the paper's MMD²_u
    lr: float = 1e-3  # Adam (our choice)
    beta1: float = 0.9
    beta2: float = 0.999


class MMDNet(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.G = UniformGenerator(hp.z_dim, hp.g_widths, data.features).to(device)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator) * 2 - 1

    def kernel_bandwidths(self, samples: torch.Tensor, data: torch.Tensor) -> tuple[float, ...]:
        """The fixed bank if one is set, else the median heuristic on this step's pooled sample."""
        return self.hp.bandwidths or (median_bandwidth(samples, data),)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        data = to_unit_interval(real[-1].images).flatten(1)
        samples = self.G(self.noise(len(data)))
        bandwidths = self.kernel_bandwidths(samples, data)
        loss = mmd_squared(samples, data, bandwidths, self.hp.estimator)  # MMD²_u, minimised as is
        self.update(self.opt_G, loss)
        return {"mmd2": loss.detach(), "bandwidth": torch.tensor(bandwidths[0])}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return from_unit_interval(self.G(self.noise(n, generator))).view(n, *self.data.shape)


REPRODUCTION = MMDNet
