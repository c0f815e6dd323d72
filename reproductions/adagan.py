"""AdaGAN — Tolstikhin, Gelly, Bousquet, Simon-Gabriel & Schölkopf, "AdaGAN: Boosting Generative
Models", NeurIPS 2017 (arXiv 1701.02386).

A meta-algorithm: GANs are trained one after another in *rounds*, each on the training data
reweighted towards the examples the mixture so far covers worst, and the model is the mixture of
all of them. It samples through `sample` like any generator: pick a component by its mixture
weight, then draw from it.

Read alongside the paper (Algorithm 1, section 3.1) and its released code
(github.com/tolstikhin/adagan, `adagan.py`, `adagan_mnist3.py`):
- Algorithm 1: round 1 trains G_1 on the data as it is (β_1 = 1). Round t + 1 (i) trains a
  classifier D_M to tell the data from samples of the current mixture P_t, (ii) turns its outputs
  into density ratios h = (1 − D_M) / D_M and data weights W = (λ* − (1 − β) h)₊ / (N β) (the
  `theory_star` weights, section 3.1; `reproductions.parts.boosting`), (iii) trains a fresh GAN
  G_{t+1} on the reweighted data and (iv) mixes it in, P_{t+1} = (1 − β) P_t + β G_{t+1}, with
  β = 1 / (t + 1) (`beta_heur = 'uniform'`: the mixture stays uniform).
- `adagan_mnist3.py`: 10 rounds, batch 128, z_dim 30, Adam (β1 0.5) with lr 1e-3 for G, 5e-4 for D
  and 8e-4 for the mixture classifier, 20 GAN epochs and 5 classifier epochs per round, conv nets
  with 16 filters.

Fitting the rounds into the harness's budget (`plan`): the G steps are split evenly over the rounds;
in every round after the first the classifier takes the code's share of it (5 of 25 epochs), the
component GAN the rest. The code samples mini-batches from the reweighted data; the harness hands a
reproduction uniform batches, so each real example's D loss is weighted by W(x) instead (an
importance-weighted estimate of the same objective), with λ* and the weights' normalisation solved on a
pool of the real images the classifier phase saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, evaluating

from reproductions.dcgan import Discriminator, Generator
from reproductions.parts.blocks import init_normal_all
from reproductions.parts.boosting import BetaHeuristic, density_ratios, mixture_weights, next_beta, optimal_lambda
from reproductions.parts.losses import d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    rounds: int = 10  # adagan_steps_total: mixture components
    beta_heuristic: BetaHeuristic = "uniform"
    beta_constant: float = 0.5  # used with beta_heuristic = "constant"
    z_dim: int = 30
    g_width: int = 16
    d_width: int = 16
    g_lr: float = 1e-3
    lr: float = 5e-4  # D's
    classifier_lr: float = 8e-4
    beta1: float = 0.5
    beta2: float = 0.999
    leaky_slope: float = 0.2
    init_std: float = 0.02
    classifier_share: float = 0.2  # mixture_c_epoch_num / (gan_epoch_num + mixture_c_epoch_num) = 5 / 25
    pool_size: int = 2048  # real images kept from the classifier phase to solve λ* on (our choice)


def split_rounds(g_steps: int, rounds: int, classifier_share: float) -> list[tuple[int, int, int]]:
    """(first step, classifier steps, GAN steps) per round: the budget split evenly over the rounds (at
    most one round per step); rounds after the first give `classifier_share` of theirs (at least one
    step, always leaving the GAN one) to the mixture classifier."""
    count = max(1, min(rounds, g_steps))
    plan = []
    for r in range(count):
        start, end = r * g_steps // count, (r + 1) * g_steps // count
        length = end - start
        classifier = 0 if r == 0 or length < 2 else min(length - 1, max(1, round(classifier_share * length)))
        plan.append((start, classifier, length - classifier))
    return plan


class AdaGAN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {hp.rounds}")
        gen = lambda: Generator(hp.z_dim, data.channels, data.resolution, hp.g_width)  # noqa: E731
        disc = lambda: Discriminator(data.channels, data.resolution, hp.d_width, hp.leaky_slope)  # noqa: E731
        self.G = nn.ModuleList(gen() for _ in range(hp.rounds)).to(device)  # the components G_1..G_T
        self.D = nn.ModuleList(disc() for _ in range(hp.rounds)).to(device)  # each component's own D
        self.C = nn.ModuleList(disc() for _ in range(hp.rounds - 1)).to(device)  # D_M of rounds 2..T
        init_normal_all(hp.init_std, self.G, self.D, self.C)
        betas = (hp.beta1, hp.beta2)
        # One Adam per role: only the active component has gradients, so the others' state stays put.
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=hp.g_lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=hp.lr, betas=betas)
        self.opt_C = torch.optim.Adam(self.C.parameters(), lr=hp.classifier_lr, betas=betas) if hp.rounds > 1 else None
        self.rounds = split_rounds(1000, hp.rounds, hp.classifier_share)  # until `plan` is told the budget
        self.components = 0  # components whose round has begun (the mixture samples from these)
        self.pool: torch.Tensor | None = None  # real images of this round's classifier phase
        self.weighting: tuple[float, float] | None = None  # (λ*, the weights' mean over the pool) this round

    def plan(self, g_steps: int, batch_size: int) -> None:
        self.rounds = split_rounds(g_steps, self.hp.rounds, self.hp.classifier_share)

    def locate(self, step: int) -> tuple[int, int]:
        """(round, step within it) of a harness step; steps past the plan stay in the last round."""
        r = max(i for i, (start, _, _) in enumerate(self.rounds) if start <= step or i == 0)
        return r, step - self.rounds[r][0]

    def beta(self, r: int) -> float:
        return next_beta(r, self.hp.beta_heuristic, self.hp.beta_constant)

    # -- the mixture --------------------------------------------------------------------------------
    def mixture_sample(self, n: int, components: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws of Σ_k α_k G_k over the first `components` components: a component by its weight, then z."""
        weights = torch.tensor(mixture_weights(components, self.hp.beta_heuristic, self.hp.beta_constant),
                               device=self.device)
        chosen = torch.multinomial(weights, n, replacement=True, generator=generator)
        z = self.noise(n, generator)
        out = torch.empty(n, *self.data.shape, device=self.device)
        with self.sampling_mode(*self.G):
            for k in range(components):
                picked = chosen == k
                if picked.any():
                    out[picked] = self.G[k](z[picked])
        return out

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.mixture_sample(n, max(1, self.components), generator)

    # -- the reweighting ----------------------------------------------------------------------------
    @torch.no_grad()
    def ratios(self, r: int, images: torch.Tensor) -> torch.Tensor:
        """h(x) = (1 − D_M(x)) / D_M(x) from round r's mixture classifier (eval mode)."""
        with evaluating(self.C[r - 1]):
            return density_ratios(torch.sigmoid(self.C[r - 1](images)))

    def solve_weighting(self, r: int) -> None:
        """λ* and the normalisation of W on the pool of real images (then the pool is let go)."""
        self.weighting = None
        if self.pool is not None:
            h = self.ratios(r, self.pool)
            lam = optimal_lambda(h, self.beta(r))
            if lam is not None:
                mean = float((lam - (1 - self.beta(r)) * h).clamp_min(0).mean())
                self.weighting = (lam, mean) if mean > 0 else None
        self.pool = None

    def data_weights(self, r: int, images: torch.Tensor) -> torch.Tensor:
        """W(x) · N for a batch (mean 1 over the pool): 1 everywhere in round 1 or without a λ*."""
        if r == 0 or self.weighting is None:
            return torch.ones(len(images), device=images.device)
        lam, mean = self.weighting
        return (lam - (1 - self.beta(r)) * self.ratios(r, images)).clamp_min(0) / mean

    # -- the training step --------------------------------------------------------------------------
    def classifier_step(self, r: int, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """D_M of round r: the data (label 1) against samples of the mixture of the first r components."""
        with torch.no_grad():
            fake = self.mixture_sample(len(images), r)
        loss = d_loss_gan(self.C[r - 1](images), self.C[r - 1](fake))
        self.update(self.opt_C, loss)
        kept = images.detach() if self.pool is None else torch.cat([self.pool, images.detach()])
        self.pool = kept[-self.hp.pool_size:]
        return {"loss_classifier": loss.detach()}

    def gan_step(self, r: int, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Component r's GAN on the reweighted data: D's real term weighted by W(x), G non-saturating."""
        G, D = self.G[r], self.D[r]
        weights = self.data_weights(r, images)
        fake = G(self.noise(len(images))).detach()
        d_real, d_fake = D(images), D(fake)
        loss_d = (weights * F.softplus(-d_real)).mean() + F.softplus(d_fake).mean()
        self.update(self.opt_D, loss_d)
        D.requires_grad_(False)
        loss_g = g_loss_nonsaturating(D(G(self.noise(len(images)))))
        self.update(self.opt_G, loss_g)
        D.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "weight_max": weights.max().detach()}

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        images = real[-1].images
        r, local = self.locate(step)
        self.components = max(self.components, r + 1)
        classifier_steps = self.rounds[r][1]
        if local < classifier_steps:
            out = self.classifier_step(r, images)
        else:
            if r > 0 and local == classifier_steps:  # the round's first GAN step: weights from the classifier
                self.solve_weighting(r)
            out = self.gan_step(r, images)
        return {**out, "round": torch.tensor(float(r + 1))}

    # -- state beyond the networks --------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"components": self.components, "pool": self.pool, "weighting": self.weighting}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.components = int(state["components"])
        self.pool = None if state["pool"] is None else state["pool"].to(self.device)
        self.weighting = None if state["weighting"] is None else tuple(state["weighting"])


REPRODUCTION = AdaGAN
