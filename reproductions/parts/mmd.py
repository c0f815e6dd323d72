"""Maximum mean discrepancy with a bank of Gaussian kernels: the objective of the moment-matching
generators (Li et al. 2015, GMMN; Dziugaite et al. 2015, MMD nets).

MMD²(X, Y) = E k(x, x') + E k(y, y') − 2 E k(x, y) (Gretton et al. 2012, eq. 3), with k a sum of
Gaussian kernels k_σ(a, b) = exp(−‖a − b‖² / (2σ)). Note σ divides the squared distance directly,
as in GMMN's eq. 2 and its released code (`GaussianKernelMmdLoss`): it is a variance, not a
standard deviation, so GMMN's MNIST bank {2, 5, …, 80} is in squared-pixel units.

Two estimators:
- "biased": the V-statistic, every pair including i = j (GMMN's code: sᵀ K s with s = 1/n on the
  samples and −1/m on the data);
- "unbiased": the U-statistic, the i = j terms left out of the within-set means (Gretton et al.
  2012, eq. 3; Dziugaite et al.'s choice). It can be negative.

The bandwidth may also be set from the data by the median heuristic (the kernel width is the median
distance between points of the pooled sample, the usual default of kernel two-sample tests), `median_bandwidth`.

Everything is O((n + m)²) in memory: one Gram matrix of the concatenated sets per call.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import Tensor

Estimator = Literal["biased", "unbiased"]


def squared_distances(a: Tensor, b: Tensor) -> Tensor:
    """‖a_i − b_j‖² for rows of a (n, d) and b (m, d), clamped at 0 against rounding."""
    sq = (a * a).sum(1, keepdim=True) + (b * b).sum(1) - 2 * a @ b.t()
    return sq.clamp_min(0.0)


def gaussian_kernel_bank(distances: Tensor, bandwidths: Sequence[float], weights: Sequence[float] | None = None) -> Tensor:
    """Σ_s w_s · exp(−d / (2σ_s)) on a matrix of squared distances d (GMMN eq. 2 with a kernel bank)."""
    if not bandwidths:
        raise ValueError("the kernel bank needs at least one bandwidth")
    weights = [1.0] * len(bandwidths) if weights is None else list(weights)
    if len(weights) != len(bandwidths):
        raise ValueError(f"{len(weights)} kernel weights for {len(bandwidths)} bandwidths")
    total = torch.zeros_like(distances)
    for sigma, weight in zip(bandwidths, weights):
        if sigma <= 0:
            raise ValueError(f"kernel bandwidths must be positive, got {sigma}")
        total = total + weight * torch.exp(-distances / (2.0 * sigma))
    return total


def mmd_squared(x: Tensor, y: Tensor, bandwidths: Sequence[float], estimator: Estimator = "biased",
                weights: Sequence[float] | None = None) -> Tensor:
    """The MMD² estimate between samples x (n, ...) and y (m, ...), flattened to vectors."""
    x, y = x.flatten(1), y.flatten(1)
    n, m = len(x), len(y)
    joint = torch.cat([x, y])
    gram = gaussian_kernel_bank(squared_distances(joint, joint), bandwidths, weights)
    k_xx, k_yy, k_xy = gram[:n, :n], gram[n:, n:], gram[:n, n:]
    if estimator == "biased":
        return k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()
    if estimator == "unbiased":
        if n < 2 or m < 2:
            raise ValueError("the unbiased MMD estimate needs at least two samples on each side")
        within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
        within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
        return within_x + within_y - 2 * k_xy.mean()
    raise ValueError(f"unknown MMD estimator {estimator!r}; known: biased, unbiased")


def mmd(x: Tensor, y: Tensor, bandwidths: Sequence[float], estimator: Estimator = "biased",
        weights: Sequence[float] | None = None, eps: float = 1e-10) -> Tensor:
    """√MMD², GMMN's training loss (the code's `SqrtGaussianKernelMmdLoss`); `eps` keeps the gradient
    finite where the estimate is 0 (the code adds 1e-10 to 2√loss likewise). A negative unbiased
    estimate is clamped to 0 first."""
    return torch.sqrt(mmd_squared(x, y, bandwidths, estimator, weights).clamp_min(0.0) + eps)


def median_bandwidth(x: Tensor, y: Tensor) -> float:
    """The median heuristic in this module's σ units: k = exp(−d² / (2σ)) with √σ the median pairwise
    distance of the pooled sample (the i ≠ j pairs), so σ is the median *squared* distance. Computed
    without gradient, as a constant of the step; at least 1e-12."""
    with torch.no_grad():
        joint = torch.cat([x.flatten(1), y.flatten(1)])
        n = len(joint)
        if n < 2:
            raise ValueError("the median heuristic needs at least two points")
        d = squared_distances(joint, joint)
        off_diagonal = d[~torch.eye(n, dtype=torch.bool, device=d.device)]
        return max(float(off_diagonal.median()), 1e-12)
