"""The adversarial objectives, written once and imported by every reproduction.

All functions take raw discriminator outputs (logits / critic values) and return a scalar to
*minimise*. Conventions: `real` = D(x), `fake` = D(G(z)).
"""

from __future__ import annotations

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


