"""Boosting generative models (Tolstikhin et al. 2017, AdaGAN): the mixture weights of the components
and the reweighting of the training data after each round.

After t components, the mixture is P_t = Σ_k α_k G_k. The next component G_{t+1} enters with weight β
(P_{t+1} = (1 − β) P_t + β G_{t+1}) and is trained on the data reweighted towards the points P_t
covers worst. The released code (github.com/tolstikhin/adagan, `adagan.py`) and the paper's
section 3.1 give:

- β_{t+1}: "uniform", 1 / (t + 1), which keeps the mixture uniform, or a "constant" β.
- The density ratio h(x) = dP_t / dP_data(x) is estimated from a classifier D trained to tell data
  (label 1) from mixture samples (label 0): h = (1 − D) / D (the paper's eq. 16 heuristic).
- The "theory_star" weights (eqs. 17-18 of the arXiv version, the code's
  `_compute_data_weights_theory_star`): W(x_i) = (λ* − (1 − β) h(x_i))₊ / (N β), with λ* found by
  scanning the sorted ratios h_(1) ≤ … ≤ h_(N) for the i with
  (1 − β) h_(i) ≤ λ_i ≤ (1 − β) h_(i+1), λ_i = (β N + (1 − β) Σ_{j ≤ i} h_(j)) / i, then
  renormalised to sum 1 (uniform weights if no λ is found, as the code falls back).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

BetaHeuristic = Literal["uniform", "constant"]


def next_beta(components_before: int, heuristic: BetaHeuristic, constant: float = 0.5) -> float:
    """β of the component that joins a mixture of `components_before` (1 for the first one)."""
    if components_before == 0:
        return 1.0
    if heuristic == "uniform":
        return 1.0 / (components_before + 1)
    if heuristic == "constant":
        if not 0.0 <= constant <= 1.0:
            raise ValueError(f"a constant beta must be in [0, 1], got {constant}")
        return constant
    raise ValueError(f"unknown beta heuristic {heuristic!r}; known: uniform, constant")


def mixture_weights(components: int, heuristic: BetaHeuristic, constant: float = 0.5) -> list[float]:
    """α_1..α_k after `components` rounds: each new component's β, the older weights scaled by (1 − β)."""
    weights: list[float] = []
    for k in range(components):
        beta = next_beta(k, heuristic, constant)
        weights = [w * (1 - beta) for w in weights] + [beta]
    return weights


def density_ratios(prob_real: Tensor, eps: float = 1e-8) -> Tensor:
    """h = dP_model / dP_data ≈ (1 − D) / D from the classifier's probability of "data" (eq. 16)."""
    return (1.0 - prob_real) / (prob_real + eps)


def optimal_lambda(ratios: Tensor, beta: float) -> float | None:
    """λ* of the theory_star weights (eq. 18) on the ratios of N data points; None where the scan finds none."""
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must be in (0, 1], got {beta}")
    h = torch.sort(ratios.detach().double().flatten()).values
    n = len(h)
    cumulative = torch.cumsum(h, 0)
    for i in range(n):
        lam = float((beta * n + (1 - beta) * cumulative[i]) / (i + 1))
        upper_ok = i == n - 1 or lam <= (1 - beta) * float(h[i + 1])
        if upper_ok and lam >= (1 - beta) * float(h[i]):
            return lam
    return None


def boosting_weights(ratios: Tensor, beta: float, lam: float | None) -> Tensor:
    """W(x_i) ∝ (λ* − (1 − β) h(x_i))₊ (eq. 17), normalised to sum 1; uniform where λ* is None or all vanish."""
    if lam is None:
        return torch.full_like(ratios, 1.0 / len(ratios))
    raw = (lam - (1 - beta) * ratios).clamp_min(0.0)
    total = raw.sum()
    return raw / total if total > 0 else torch.full_like(ratios, 1.0 / len(ratios))
