"""BEGAN's equilibrium controller (Berthelot, Schumm & Metz 2017, arXiv 1703.10717, section 3.4).

D is an autoencoder and L(v) its reconstruction loss. BEGAN keeps E[L(G(z))] = γ·E[L(x)] (eq. 4,
γ the diversity ratio) with a proportional controller on k_t, the weight D gives to fakes:
    L_D = L(x) − k_t·L(G(z)),   L_G = L(G(z)),
    k_{t+1} = k_t + λ_k·(γ·L(x) − L(G(z)))                                           (eq. 5)
with k_t clamped to [0, 1] ("k_t ∈ [0, 1]"; k_0 = 0, λ_k = 0.001 in the paper), and training
measured by the convergence measure (section 3.4.1)
    M_global = L(x) + |γ·L(x) − L(G(z))|.
"""

from __future__ import annotations

import torch
from torch import Tensor


class EquilibriumController:
    """k_t of eq. 5 as a 0-dim tensor on the training device (updating it needs no device sync)."""

    def __init__(self, gamma: float, lambda_k: float, k0: float = 0.0, clamp: bool = True,
                 device: torch.device | str = "cpu"):
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"the diversity ratio gamma lies in [0, 1], got {gamma}")
        self.gamma, self.lambda_k, self.clamp = gamma, lambda_k, clamp
        self.k = torch.tensor(float(k0), device=device)

    def balance(self, loss_real: Tensor, loss_fake: Tensor) -> Tensor:
        """γ·L(x) − L(G(z)): positive while D reconstructs fakes better than γ times the real data."""
        return self.gamma * loss_real.detach() - loss_fake.detach()

    def convergence(self, loss_real: Tensor, loss_fake: Tensor) -> Tensor:
        """M_global = L(x) + |γ·L(x) − L(G(z))| (section 3.4.1)."""
        return loss_real.detach() + self.balance(loss_real, loss_fake).abs()

    def update(self, loss_real: Tensor, loss_fake: Tensor) -> Tensor:
        """One step of eq. 5 from this step's losses; returns the new k_t."""
        k = self.k + self.lambda_k * self.balance(loss_real, loss_fake)
        self.k = k.clamp(0.0, 1.0) if self.clamp else k
        return self.k

    def state_dict(self) -> dict[str, float]:
        return {"k": float(self.k)}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.k = torch.tensor(float(state["k"]), device=self.k.device)
