"""Pieces of the energy-based, autoencoder-discriminator GANs (EBGAN; reused by BEGAN-style models).

- `reconstruction_energy`: D(x) = ‖Dec(Enc(x)) − x‖ per example (Zhao et al. 2017, eq. 4).
- `pulling_away_term`: the repelling regulariser on a batch of representations (Zhao et al., eq. 7),
  f_PT(S) = 1 / (N(N − 1)) Σ_i Σ_{j≠i} (S_iᵀ S_j / (‖S_i‖ ‖S_j‖))²: the mean squared cosine
  similarity between distinct samples' codes, 0 when they are orthogonal, 1 when all are parallel.
"""

from __future__ import annotations

import torch
from torch import Tensor


def reconstruction_energy(x: Tensor, reconstruction: Tensor) -> Tensor:
    """‖Dec(Enc(x)) − x‖₂ per example, over all of its pixels."""
    return (reconstruction - x).flatten(1).norm(dim=1)


def pulling_away_term(representations: Tensor, eps: float = 1e-8) -> Tensor:
    """Eq. 7 on S (N, ...), flattened per example; needs N ≥ 2."""
    s = representations.flatten(1)
    n = s.shape[0]
    if n < 2:
        raise ValueError("the pulling-away term needs at least two samples")
    unit = s / (s.norm(dim=1, keepdim=True) + eps)
    cosine = unit @ unit.t()
    off_diagonal = cosine.pow(2).sum() - cosine.diagonal().pow(2).sum()
    return off_diagonal / (n * (n - 1))
