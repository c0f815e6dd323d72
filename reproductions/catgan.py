"""CatGAN — Springenberg, "Unsupervised and Semi-supervised Learning with Categorical Generative
Adversarial Networks", ICLR 2016 / arXiv 1511.06390.

D is a K-way classifier p(y|x, D) instead of a real/fake detector, and the game is played on the
entropies of its predictions (`reproductions.parts.entropy`):

- Section 3.1 / fig. 1, D's three wishes: (i) be *certain* of the class of a real example (low
  E_x H[p(y|x,D)]), (ii) be *uncertain* of the class of a generated one (high E_z H[p(y|G(z),D)]),
  (iii) use all K classes equally on real data (high marginal entropy H_X[p(y|D)]).
- Section 3.1, G's wishes: samples D is certain about (low E_z H[p(y|G(z),D)]) that are spread evenly
  over the classes (high H_G[p(y|D)]).
- Section 3.2: the expectations and marginals are estimated on each minibatch.
- Section 4 (semi-supervised CatGAN): with a labelled set X^L, D's objective gains the cross-entropy
  of its predictions on labelled examples, weighted by λ (here λ = 1).
- Section 5 / Table 1, permutation-invariant MNIST: fully connected nets with batch normalisation and
  Gaussian noise in D (the layout below is our recollection of the paper's appendix; see `deviations`).

In an ordinary run (`Batch.labelled is None`) this is the unsupervised CatGAN of section 3, whose D
clusters the data into K groups; in a semi-supervised run (`gan-bench run catgan --labels N`) the
labelled batch adds the cross-entropy term. `classify` is D's p(y|x) in eval mode.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, frozen

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.parts.entropy import (catgan_discriminator_loss, catgan_generator_loss, conditional_entropy,
                                         marginal_entropy)
from reproductions.parts.pairs import GaussianNoise


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 128  # z ~ U[-1, 1]^128
    g_width: int = 500  # G: two hidden layers of 500 leaky-ReLU units with batch normalisation
    d_width: int = 1000  # D: two hidden layers of 1,000 leaky-ReLU units with batch normalisation
    input_noise: float = 0.3  # Gaussian noise on D's input …
    hidden_noise: float = 0.5  # … and on each hidden layer's output
    leak: float = 0.2
    labelled_weight: float = 1.0  # λ of section 4: the labelled cross-entropy in D's objective
    labelled_batch_size: int = 100
    lr: float = 0.001  # Adam for both nets; see deviations
    beta1: float = 0.5
    beta2: float = 0.999


def _dense_block(n_in: int, n_out: int, leak: float) -> list[nn.Module]:
    return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.LeakyReLU(leak)]


@contextmanager
def statistics_kept(net: nn.Module) -> Iterator[None]:
    """Batchnorm still normalises by the batch's own statistics, but its running averages stay as they
    are (momentum 0 inside the block), so generated batches never reach the statistics of eval mode."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum


class CatGAN(Reproduction):
    Hyperparameters = Hyperparameters
    semi_supervised = True

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if data.num_classes < 2:
            raise ValueError("CatGAN's discriminator is a K-way classifier: it needs a dataset with classes (K ≥ 2)")
        k, w = data.num_classes, hp.d_width
        self.G = nn.Sequential(*_dense_block(hp.z_dim, hp.g_width, hp.leak), *_dense_block(hp.g_width, hp.g_width, hp.leak),
                               nn.Linear(hp.g_width, data.features), nn.Sigmoid(), nn.Unflatten(1, data.shape)).to(device)
        self.D = nn.Sequential(nn.Flatten(), GaussianNoise(hp.input_noise), *_dense_block(data.features, w, hp.leak),
                               GaussianNoise(hp.hidden_noise), *_dense_block(w, w, hp.leak),
                               GaussianNoise(hp.hidden_noise), nn.Linear(w, k)).to(device)
        adam = lambda net: torch.optim.Adam(net.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))  # noqa: E731
        self.opt_G, self.opt_D = adam(self.G), adam(self.D)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator) * 2 - 1

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        batch = real[-1]
        x = to_unit_interval(batch.images)
        n = len(x)

        # D (section 3.1): certain on real x, uncertain on G(z), every class used on real data …
        with torch.no_grad():
            fake = self.G(self.noise(n))
        real_logits = self.D(x)
        with statistics_kept(self.D):  # generated batches never enter the running statistics `classify` uses
            fake_logits = self.D(fake)
        loss_d = catgan_discriminator_loss(real_logits, fake_logits)
        logs = {}
        # … plus, semi-supervised (section 4), the cross-entropy on the labelled batch.
        if batch.labelled is not None:
            labelled = batch.labelled
            loss_ce = F.cross_entropy(self.D(to_unit_interval(labelled.images)), labelled.labels)
            loss_d = loss_d + self.hp.labelled_weight * loss_ce
            logs["labelled_ce"] = loss_ce.detach()
        self.update(self.opt_D, loss_d)

        # G (section 3.1): samples D is certain about, spread evenly over the classes.
        with frozen(self.D), statistics_kept(self.D):
            fake_logits = self.D(self.G(self.noise(n)))
            loss_g = catgan_generator_loss(fake_logits)
        self.update(self.opt_G, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), **logs,
                "entropy_real": conditional_entropy(real_logits).detach(),
                "marginal_entropy_real": marginal_entropy(real_logits).detach(),
                "entropy_fake": conditional_entropy(fake_logits).detach()}

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """D's class logits (the harness calls this in eval mode: no noise, batchnorm running statistics)."""
        return self.D(to_unit_interval(images))

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self.noise(n, generator)
        with self.sampling_mode(self.G):
            return from_unit_interval(self.G(z))


REPRODUCTION = CatGAN
