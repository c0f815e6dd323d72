"""Entropy terms on a classifier's categorical outputs, written once for the semi-supervised papers.

Every function takes logits (N, K) over K classes and returns a scalar (a mean over the N rows where
it is an expectation over examples). Natural logarithms throughout.

- `conditional_entropy`: E_x H[p(y|x)] = −(1/N) Σ_i Σ_k p_ik log p_ik: how *uncertain* each prediction is.
- `marginal_entropy`: H[p(y)] with p(y) ≈ (1/N) Σ_i p(y|x_i): how evenly the batch uses the classes.
- `cross_entropy_to_uniform_of_mean`: −(1/K) Σ_k log p̄_k, the balance term of Triple-GAN's released
  classifier (the cross-entropy of the batch's mean prediction against the uniform distribution).
- `catgan_discriminator_loss` / `catgan_generator_loss`: CatGAN's L_D and L_G (Springenberg 2016,
  section 3.1, eqs. 5 and 7 with the empirical estimates of section 3.2), negated where the paper
  maximises so that both are minimised:
    D: certain on real data, uncertain on generated data, all classes used equally on real data —
       L_D = −H_X[p(y|D)] + E_x H[p(y|x,D)] − E_z H[p(y|G(z),D)];
    G: samples D is certain about, spread evenly over the classes —
       L_G = −H_G[p(y|D)] + E_z H[p(y|G(z),D)].
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

_TINY = 1e-12  # keeps log p̄ finite for a class no row predicts at all (its term is 0 · log 0 = 0)


def conditional_entropy(logits: Tensor) -> Tensor:
    """E_x H[p(y|x)] over the rows of `logits`."""
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1).mean()


def mean_prediction(logits: Tensor) -> Tensor:
    """p̄(y) = (1/N) Σ_i softmax(logits_i): the batch's estimate of the marginal class distribution."""
    return F.softmax(logits, dim=1).mean(dim=0)


def marginal_entropy(logits: Tensor) -> Tensor:
    """H[p̄(y)] of the batch's mean prediction."""
    p = mean_prediction(logits)
    return -(p * p.clamp_min(_TINY).log()).sum()


def cross_entropy_to_uniform_of_mean(logits: Tensor) -> Tensor:
    """−(1/K) Σ_k log p̄_k: log K when p̄ is uniform, larger the more uneven it is."""
    p = mean_prediction(logits)
    return -p.clamp_min(_TINY).log().mean()


def catgan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """−L_D of CatGAN, to minimise: −H_X[p(y|D)] + E_x H[p(y|x,D)] − E_z H[p(y|G(z),D)]."""
    return -marginal_entropy(real_logits) + conditional_entropy(real_logits) - conditional_entropy(fake_logits)


def catgan_generator_loss(fake_logits: Tensor) -> Tensor:
    """L_G of CatGAN, to minimise: −H_G[p(y|D)] + E_z H[p(y|G(z),D)]."""
    return -marginal_entropy(fake_logits) + conditional_entropy(fake_logits)


def max_entropy(num_classes: int) -> float:
    """log K: the entropy of the uniform distribution over K classes (a bound to check against)."""
    return math.log(num_classes)


__all__ = ["conditional_entropy", "marginal_entropy", "mean_prediction", "cross_entropy_to_uniform_of_mean",
           "catgan_discriminator_loss", "catgan_generator_loss", "max_entropy"]
