"""reproductions.parts.boosting: AdaGAN's mixture weights and its theory_star data weights on hand-made
density ratios / classifier outputs with answers worked by hand."""

from __future__ import annotations

import pytest
import torch

from reproductions.parts.boosting import boosting_weights, density_ratios, mixture_weights, next_beta, optimal_lambda


def test_beta_and_mixture_weights():
    assert next_beta(0, "uniform") == 1.0 and next_beta(3, "uniform") == pytest.approx(0.25)
    assert mixture_weights(4, "uniform") == pytest.approx([0.25] * 4)
    # Constant β = 0.5: 1 → (0.5, 0.5) → (0.25, 0.25, 0.5).
    assert mixture_weights(3, "constant", 0.5) == pytest.approx([0.25, 0.25, 0.5])
    with pytest.raises(ValueError):
        next_beta(1, "constant", 1.5)
    with pytest.raises(ValueError):
        next_beta(1, "doubling")


def test_density_ratios_from_classifier_outputs():
    # D = P(data): 1/2 → h = 1; 1/3 → 2; 1/11 → 10; 1 → 0.
    h = density_ratios(torch.tensor([0.5, 1 / 3, 1 / 11, 1.0], dtype=torch.float64))
    assert h.tolist() == pytest.approx([1.0, 2.0, 10.0, 0.0], rel=1e-6, abs=1e-9)


def test_theory_star_drops_the_points_the_mixture_already_covers():
    # N = 4, β = 1/2, h = (0, 0, 2, 10): λ_1 = 2 fails (2 > 0.5·0); λ_2 = (2 + 0) / 2 = 1 ∈ [0.5·0, 0.5·2].
    h = torch.tensor([2.0, 0.0, 10.0, 0.0], dtype=torch.float64)
    lam = optimal_lambda(h, 0.5)
    assert lam == pytest.approx(1.0)
    # W = (1 − 0.5·h)₊ / (N β) = (0, 1, 0, 1) / 2.
    assert boosting_weights(h, 0.5, lam).tolist() == pytest.approx([0.0, 0.5, 0.0, 0.5])


def test_theory_star_is_uniform_where_the_mixture_matches_the_data_everywhere():
    h = torch.ones(4, dtype=torch.float64)  # dP_model / dP_data = 1 at every point
    lam = optimal_lambda(h, 0.5)
    assert lam == pytest.approx(1.0)  # only the last index passes: (2 + 0.5·4) / 4
    assert boosting_weights(h, 0.5, lam).tolist() == pytest.approx([0.25] * 4)
    # Between: h = (0, 1, 3), β = 1/3: λ_1 = 1 > (2/3)·1 fails; λ_2 = (1 + (2/3)·1) / 2 = 5/6 ∈ [2/3, 2].
    h = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    lam = optimal_lambda(h, 1 / 3)
    assert lam == pytest.approx(5 / 6)
    raw = [5 / 6, 5 / 6 - 2 / 3, 0.0]
    assert boosting_weights(h, 1 / 3, lam).tolist() == pytest.approx([w / sum(raw) for w in raw])


def test_no_lambda_means_uniform_weights():
    assert boosting_weights(torch.tensor([1.0, 5.0]), 0.5, None).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError):
        optimal_lambda(torch.ones(3), 0.0)
