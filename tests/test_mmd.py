"""reproductions.parts.mmd: the kernel bank and both MMD estimators against a direct O(n²) double loop."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions.parts.mmd import gaussian_kernel_bank, mmd, mmd_squared, squared_distances

BANDWIDTHS = (0.5, 2.0, 8.0)


def kernel(a: torch.Tensor, b: torch.Tensor, bandwidths=BANDWIDTHS) -> float:
    d = float(((a - b) ** 2).sum())
    return sum(math.exp(-d / (2 * s)) for s in bandwidths)


def direct_mmd_squared(x: torch.Tensor, y: torch.Tensor, unbiased: bool) -> float:
    """Gretton et al. 2012, eq. 3 (unbiased) or the V-statistic, one pair at a time."""
    n, m = len(x), len(y)
    xx = sum(kernel(x[i], x[j]) for i in range(n) for j in range(n) if not (unbiased and i == j))
    yy = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if not (unbiased and i == j))
    xy = sum(kernel(x[i], y[j]) for i in range(n) for j in range(m))
    if unbiased:
        return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * xy / (n * m)
    return xx / n**2 + yy / m**2 - 2 * xy / (n * m)


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_mmd_squared_matches_the_direct_double_sum(estimator):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 2, 3, generator=g, dtype=torch.float64)  # flattened to 6 dims
    y = torch.randn(5, 6, generator=g, dtype=torch.float64) + 0.7
    expected = direct_mmd_squared(x.flatten(1), y, unbiased=estimator == "unbiased")
    assert mmd_squared(x, y, BANDWIDTHS, estimator).item() == pytest.approx(expected, rel=1e-10)


def test_the_kernel_divides_the_squared_distance_by_two_sigma():
    # GMMN's k(x, x') = exp(-|x - x'|² / (2σ)): σ is used as given, not squared.
    d = torch.tensor([[0.0, 4.0]])
    assert gaussian_kernel_bank(d, [2.0])[0].tolist() == pytest.approx([1.0, math.exp(-1.0)])
    assert gaussian_kernel_bank(d, [2.0, 8.0], [1.0, 3.0])[0, 1].item() == pytest.approx(math.exp(-1) + 3 * math.exp(-0.25))
    with pytest.raises(ValueError):
        gaussian_kernel_bank(d, [0.0])


def test_squared_distances_and_the_estimators_on_equal_sets():
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(squared_distances(x, x).diagonal(), torch.zeros(6, dtype=torch.float64), atol=1e-12)
    assert mmd_squared(x, x, BANDWIDTHS, "biased").item() == pytest.approx(0.0, abs=1e-12)
    # The U-statistic of a set against itself is negative: the diagonal (k = 3 each) is left out within sets only.
    assert mmd_squared(x, x, BANDWIDTHS, "unbiased").item() < 0
    assert mmd(x, x, BANDWIDTHS, "unbiased").item() == pytest.approx(1e-5)  # clamped to 0, then sqrt(0 + eps)


def test_mmd_grows_with_the_shift_and_has_a_gradient():
    g = torch.Generator().manual_seed(2)
    y = torch.randn(64, 3, generator=g)
    near, far = y + 0.1, y + 2.0
    assert mmd(near, y, BANDWIDTHS) < mmd(far, y, BANDWIDTHS)
    x = far.clone().requires_grad_(True)
    mmd(x, y, BANDWIDTHS).backward()
    # Moving the samples towards the data lowers the loss: the gradient points away from the data's side.
    assert (x.grad.sum(0) > 0).all()


def test_median_bandwidth_is_the_median_squared_distance_of_the_pooled_points():
    from reproductions.parts.mmd import median_bandwidth

    # Points 0, 1 (x) and 3 (y) on a line: pairwise squared distances 1, 9, 4 (each twice off the diagonal).
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[3.0]])
    assert median_bandwidth(x, y) == pytest.approx(4.0)
    # With the bandwidth, the kernel of two points at the median distance is exp(-1/2).
    assert gaussian_kernel_bank(torch.tensor([[4.0]]), [median_bandwidth(x, y)]).item() == pytest.approx(math.exp(-0.5))
    # Four points 0, 1, 2, 10: squared distances 1, 4, 100, 1, 81, 64 -> median of the 12 off-diagonal ones: lower middle 4.
    assert median_bandwidth(torch.tensor([[0.0], [1.0]]), torch.tensor([[2.0], [10.0]])) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        median_bandwidth(torch.zeros(1, 2), torch.zeros(0, 2))
