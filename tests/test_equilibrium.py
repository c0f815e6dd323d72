"""BEGAN's equilibrium controller (reproductions.parts.equilibrium): eq. 5's k_t update on hand-made
losses, its clamp to [0, 1], and M_global."""

from __future__ import annotations

import pytest
import torch

from reproductions.parts.equilibrium import EquilibriumController

T = torch.tensor


def test_k_moves_by_lambda_times_the_balance():
    control = EquilibriumController(gamma=0.5, lambda_k=0.1)
    assert float(control.k) == 0.0  # k_0 = 0
    # γ·L(x) − L(G(z)) = 0.5·0.4 − 0.1 = 0.1, so k_1 = 0 + 0.1·0.1
    assert float(control.update(T(0.4), T(0.1))) == pytest.approx(0.01)
    # D reconstructs fakes worse than γ·L(x): k falls, 0.01 + 0.1·(0.5·0.4 − 0.25) = 0.005
    assert float(control.update(T(0.4), T(0.25))) == pytest.approx(0.005)


def test_k_is_clamped_to_the_unit_interval_unless_told_not_to_be():
    high = EquilibriumController(gamma=1.0, lambda_k=0.5, k0=0.9)
    assert float(high.update(T(1.0), T(0.0))) == 1.0  # 0.9 + 0.5 would be 1.4
    low = EquilibriumController(gamma=0.5, lambda_k=0.5, k0=0.1)
    assert float(low.update(T(0.0), T(1.0))) == 0.0  # 0.1 − 0.5 would be −0.4
    free = EquilibriumController(gamma=1.0, lambda_k=0.5, k0=0.9, clamp=False)  # compare_gan never clamps
    assert float(free.update(T(1.0), T(0.0))) == pytest.approx(1.4)


def test_convergence_measure_and_the_state_round_trip():
    control = EquilibriumController(gamma=0.7, lambda_k=0.001)
    # M_global = L(x) + |γ·L(x) − L(G(z))| = 0.2 + |0.14 − 0.3|
    assert float(control.convergence(T(0.2), T(0.3))) == pytest.approx(0.36)
    control.update(T(0.5), T(0.1))
    restored = EquilibriumController(gamma=0.7, lambda_k=0.001)
    restored.load_state_dict(control.state_dict())
    assert float(restored.k) == pytest.approx(float(control.k)) and float(restored.k) > 0


def test_losses_carry_no_gradient_into_k():
    loss = T(0.4, requires_grad=True)
    control = EquilibriumController(gamma=0.5, lambda_k=0.1)
    assert not control.update(loss, T(0.1)).requires_grad
    with pytest.raises(ValueError, match="gamma"):
        EquilibriumController(gamma=1.5, lambda_k=0.001)
