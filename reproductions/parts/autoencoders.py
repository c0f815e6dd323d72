"""Encoders, decoders and the variational objective shared by the autoencoder-based papers (VAE,
AAE, GMMN's code space, VAE-GAN, AGE).

- `GaussianEncoder`: q(z|x) = N(μ(x), diag σ²(x)), an MLP with two heads (Kingma & Welling 2014,
  appendix C.2); `deterministic=True` keeps the mean only (an ordinary encoder, AAE's deterministic q).
- `reparameterise`: z = μ + σ ⊙ ε, ε ~ N(0, I) (Kingma & Welling, section 2.4, eq. 10).
- `gaussian_kl`: −D_KL(q(z|x) ‖ N(0, I)) in closed form (appendix B).
- `bernoulli_log_likelihood`: log p(x|z) of a Bernoulli decoder on pixels in [0, 1] (appendix C.1).
- `evidence_lower_bound`: eq. 10's per-example estimator L̃ᴮ with L = 1 sample.
- `batch_kl_to_standard_normal`: KL(Q ‖ N(0, 1)) of the Gaussian Q fitted, dimension by dimension, to a
  batch of codes (Ulyanov et al. 2017, AGE, the divergence of its latent-space game).

Pixels here are in [0, 1] (the papers' MNIST); reproductions map the harness's [-1, 1] images in and
out with `reproductions.gan.to_unit_interval` / `from_unit_interval`.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Activation = Literal["tanh", "relu", "sigmoid", "leaky_relu"]
_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def hidden_layers(in_features: int, hidden: int, layers: int, activation: Activation, dropout: float = 0.0) -> nn.Sequential:
    """`layers` dense layers of `hidden` units, each followed by the activation (and dropout, if any)."""
    modules: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), _ACTIVATIONS[activation]()]
        if dropout > 0:
            modules.append(nn.Dropout(dropout))
        width = hidden
    return nn.Sequential(*modules)


class GaussianEncoder(nn.Module):
    """x → hidden MLP → (μ, log σ²); with `deterministic` the encoder is x → μ and log σ² is None."""

    def __init__(self, in_features: int, hidden: int, layers: int, z_dim: int, activation: Activation = "tanh",
                 deterministic: bool = False, input_dropout: float = 0.0):
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout > 0 else nn.Identity()
        self.body = hidden_layers(in_features, hidden, layers, activation)
        width = hidden if layers > 0 else in_features
        self.mean = nn.Linear(width, z_dim)
        self.log_variance = None if deterministic else nn.Linear(width, z_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        h = self.body(self.input_dropout(x.flatten(1)))
        return self.mean(h), (None if self.log_variance is None else self.log_variance(h))


class MLPDecoder(nn.Module):
    """z → hidden MLP → one logit per pixel (Bernoulli means are its sigmoid), reshaped to `shape`."""

    def __init__(self, z_dim: int, hidden: int, layers: int, shape: tuple[int, ...], activation: Activation = "tanh"):
        super().__init__()
        self.shape = shape
        self.body = hidden_layers(z_dim, hidden, layers, activation)
        self.logits = nn.Linear(hidden if layers > 0 else z_dim, math.prod(shape))

    def forward(self, z: Tensor) -> Tensor:
        return self.logits(self.body(z)).view(z.shape[0], *self.shape)


def reparameterise(mean: Tensor, log_variance: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """z = μ + σ ⊙ ε with ε ~ N(0, I): a sample of q(z|x) that is differentiable in μ and σ (eq. 10)."""
    eps = torch.randn(mean.shape, device=mean.device, dtype=mean.dtype, generator=generator)
    return mean + torch.exp(0.5 * log_variance) * eps


def gaussian_kl(mean: Tensor, log_variance: Tensor) -> Tensor:
    """D_KL(N(μ, diag σ²) ‖ N(0, I)) per example: −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²) (appendix B)."""
    return -0.5 * (1 + log_variance - mean.pow(2) - log_variance.exp()).sum(dim=1)


def bernoulli_log_likelihood(logits: Tensor, pixels: Tensor) -> Tensor:
    """log p(x|z) = Σ_i x_i log y_i + (1 − x_i) log(1 − y_i), y = sigmoid(logits), per example (appendix C.1).

    `pixels` may be grey levels in [0, 1] (the usual MNIST practice), not only {0, 1}."""
    return -F.binary_cross_entropy_with_logits(logits, pixels, reduction="none").flatten(1).sum(dim=1)


def evidence_lower_bound(logits: Tensor, pixels: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
    """Eq. 10 per example, L = 1: −D_KL(q(z|x) ‖ p(z)) + log p(x|z), z the reparameterised sample the
    decoder's `logits` came from."""
    return bernoulli_log_likelihood(logits, pixels) - gaussian_kl(mean, log_variance)



def batch_kl_to_standard_normal(codes: Tensor) -> Tensor:
    """Fit N(m_j, s_j²) to each dimension j of a batch of codes (n, M) — m_j the batch mean, s_j² the
    biased batch variance — and return the mean over j of KL(N(m_j, s_j²) ‖ N(0, 1)) =
    (s_j² + m_j²) / 2 − log s_j − 1/2. Zero exactly when the batch has mean 0 and variance 1 in every
    dimension. (AGE's released code averages over dimensions, as here.)"""
    codes = codes.flatten(1)
    mean = codes.mean(0)
    variance = codes.var(0, unbiased=False)
    return ((variance + mean.pow(2)) / 2 - 0.5 * torch.log(variance) - 0.5).mean()
