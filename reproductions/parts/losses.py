"""The adversarial objectives, written once and imported by every reproduction.

All functions take raw discriminator outputs (logits / critic values) and return a scalar to
*minimise*. Conventions: `real` = D(x), `fake` = D(G(z)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


# Goodfellow et al. 2014, eq. 1: D maximises log D(x) + log(1 - D(G(z))).
# With D = sigmoid(logit): -log sigmoid(r) = softplus(-r) and -log(1 - sigmoid(f)) = softplus(f).
def d_loss_gan(real: Tensor, fake: Tensor) -> Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_loss_minimax(fake: Tensor) -> Tensor:
    """G minimises log(1 - D(G(z))) = -softplus(f): the original minimax game (saturates early)."""
    return -F.softplus(fake).mean()


def g_loss_nonsaturating(fake: Tensor) -> Tensor:
    """G maximises log D(G(z)) instead (Goodfellow et al. 2014, section 3): -log sigmoid(f) = softplus(-f)."""
    return F.softplus(-fake).mean()


def d_loss_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge loss for D (Lim & Ye 2017; Miyato et al. 2018, eq. 17)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_loss_hinge(fake: Tensor) -> Tensor:
    return -fake.mean()


def d_loss_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """The critic maximises E[D(x)] - E[D(G(z))] (Arjovsky et al. 2017, eq. 3)."""
    return fake.mean() - real.mean()


def g_loss_wasserstein(fake: Tensor) -> Tensor:
    return -fake.mean()


def d_loss_least_squares(real: Tensor, fake: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """LSGAN (Mao et al. 2017, eq. 2): D pulls real outputs to b and fake outputs to a."""
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


def g_loss_least_squares(fake: Tensor, c: float = 1.0) -> Tensor:
    """LSGAN G: pulls D's output on fakes to c, the value G wants D to believe."""
    return 0.5 * ((fake - c) ** 2).mean()


def binary_accuracy(real: Tensor, fake: Tensor) -> Tensor:
    """How often D is right at threshold 0 — a cheap health signal to log."""
    return 0.5 * ((real > 0).float().mean() + (fake < 0).float().mean())




# f-GAN (Nowozin et al. 2016), Table 2 (conjugates f*) and Table 6 (output activations g_f).
# The variational objective (eq. 6): F(θ, ω) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))]; D maximises F.
@dataclass(frozen=True)
class FDivergence:
    activation: Callable[[Tensor], Tensor]  # g_f: R -> dom f*
    conjugate: Callable[[Tensor], Tensor]  # f*(t)
    # f*(g_f(v)) simplified by hand. Composing the two in float32 overflows for moderately large v
    # (g_f(v) rounds onto the edge of dom f*: e.g. "gan" gives -log(1 - exp(-softplus(-v))) = inf for
    # v > ~17, where the exact value is softplus(v) ≈ v), so D's loss uses this form.
    conjugate_of_activation: Callable[[Tensor], Tensor]


_LOG2 = math.log(2.0)
F_DIVERGENCES: dict[str, FDivergence] = {
    "kl": FDivergence(lambda v: v, lambda t: torch.exp(t - 1), lambda v: torch.exp(v - 1)),
    "reverse-kl": FDivergence(lambda v: -torch.exp(-v), lambda t: -1 - torch.log(-t), lambda v: v - 1),
    "pearson": FDivergence(lambda v: v, lambda t: 0.25 * t * t + t, lambda v: 0.25 * v * v + v),
    "squared-hellinger": FDivergence(lambda v: 1 - torch.exp(-v), lambda t: t / (1 - t), torch.expm1),
    "jensen-shannon": FDivergence(lambda v: _LOG2 - F.softplus(-v), lambda t: -torch.log(2 - torch.exp(t)),
                                  lambda v: F.softplus(v) - _LOG2),
    "gan": FDivergence(lambda v: -F.softplus(-v), lambda t: -torch.log(1 - torch.exp(t)), F.softplus),
}


def f_divergence(name: str) -> FDivergence:
    try:
        return F_DIVERGENCES[name]
    except KeyError:
        raise ValueError(f"unknown f-divergence {name!r}; known: {', '.join(F_DIVERGENCES)}") from None


def d_loss_f(real: Tensor, fake: Tensor, divergence: str) -> Tensor:
    """-F(θ, ω): the variational lower bound on D_f(P‖Q), negated to be minimised by D."""
    f = f_divergence(divergence)
    return -(f.activation(real).mean() - f.conjugate_of_activation(fake).mean())


def g_loss_f(fake: Tensor, divergence: str) -> Tensor:
    """G's step as in the paper's experiments (section 3.2): maximise E_Q[g_f(V(G(z)))], the
    non-saturating counterpart of minimising F."""
    return -f_divergence(divergence).activation(fake).mean()
