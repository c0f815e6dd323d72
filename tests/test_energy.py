"""reproductions.parts.energy: the reconstruction energy and the pulling-away term on hand-made codes."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions.parts.energy import pulling_away_term, reconstruction_energy


def test_pulling_away_term_on_orthogonal_parallel_and_mixed_codes():
    assert pulling_away_term(torch.eye(4) * 3).item() == pytest.approx(0.0, abs=1e-7)  # orthogonal
    parallel = torch.tensor([[1.0, 2.0], [2.0, 4.0], [-3.0, -6.0]])  # cos² = 1 for every pair, sign or scale aside
    assert pulling_away_term(parallel).item() == pytest.approx(1.0, rel=1e-6)
    # Three codes: a ⟂ b, c at 45° to both: cos² = 0, ½, ½ per unordered pair → 2·(0 + ½ + ½) / (3·2) = 1/3.
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert pulling_away_term(mixed).item() == pytest.approx(1 / 3, rel=1e-6)
    with pytest.raises(ValueError):
        pulling_away_term(torch.ones(1, 3))


def test_pulling_away_term_flattens_and_has_a_gradient():
    codes = torch.tensor([[[1.0, 0.1]], [[0.9, 0.0]]], requires_grad=True)
    pulling_away_term(codes).backward()
    assert codes.grad.shape == codes.shape and codes.grad.abs().sum() > 0


def test_reconstruction_energy_is_the_l2_norm_per_example():
    x = torch.zeros(2, 1, 2, 2)
    reconstruction = torch.tensor([[[[3.0, 4.0], [0.0, 0.0]]], [[[1.0, 1.0], [1.0, 1.0]]]])
    assert reconstruction_energy(x, reconstruction).tolist() == pytest.approx([5.0, 2.0])
    assert math.isclose(reconstruction_energy(x, x).sum().item(), 0.0)
