"""DRAGAN's perturbed-real gradient penalty (reproductions.parts.regularizers): where its points lie,
and its value on a hand-made linear critic."""

from __future__ import annotations

import torch
from torch import nn

from reproductions.parts.regularizers import perturb_real, perturbed_real_penalty


def _real(n: int = 4000, d: int = 50, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) * 3 + 1


def test_points_lie_above_the_data_by_alpha_times_u_times_half_the_batch_std():
    real = _real()
    torch.manual_seed(1)
    offset = (perturb_real(real) - real) / (0.5 * real.std())  # = α·u: α per example, u per pixel
    assert offset.min() >= 0 and offset.max() < 1
    # α, u ~ U[0, 1) independent: E[αu] = 1/4, E[(αu)²] = 1/9.
    assert abs(float(offset.mean()) - 0.25) < 0.005
    assert abs(float((offset**2).mean()) - 1 / 9) < 0.005
    # One α per example: an example's largest offset is about its α, so it spreads over [0, 1).
    per_example_max = offset.max(dim=1).values
    assert float(per_example_max.min()) < 0.1 and float(per_example_max.max()) > 0.9


def test_the_perturbation_scales_with_the_batch_std_and_the_spread():
    real = _real()
    torch.manual_seed(2)
    base = perturb_real(real) - real
    torch.manual_seed(2)
    wider = perturb_real(real * 3) - real * 3  # the same draws on a batch three times as spread
    assert torch.allclose(wider, 3 * base, rtol=1e-4, atol=1e-5)
    torch.manual_seed(2)
    assert torch.allclose(perturb_real(real, spread=1.0) - real, 2 * base, rtol=1e-4, atol=1e-5)


def test_penalty_of_a_linear_critic_is_its_weight_norm_minus_one_squared():
    critic = nn.Linear(50, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.arange(50, dtype=torch.float32).view(1, 50) / 100)
    norm = float(critic.weight.detach().norm())
    penalty = perturbed_real_penalty(critic, _real(64))
    assert torch.allclose(penalty, torch.tensor((norm - 1) ** 2))
    penalty.backward()  # the penalty trains the critic: its gradient reaches the weights
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_penalty_through_a_sigmoid_uses_the_probabilitys_gradient_at_the_perturbed_points():
    critic = nn.Linear(50, 1)
    real = _real(64)
    torch.manual_seed(3)
    points = perturb_real(real)
    torch.manual_seed(3)
    penalty = perturbed_real_penalty(critic, real, activation=torch.sigmoid)
    p = torch.sigmoid(critic(points)).flatten().detach()
    expected = ((p * (1 - p) * critic.weight.norm().detach() - 1) ** 2).mean()
    assert torch.allclose(penalty, expected, rtol=1e-5)
