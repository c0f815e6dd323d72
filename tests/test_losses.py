"""The shared objectives and regularisers against values computed by hand.

Every reproduction imports these, so a wrong sign or a missing ½ here would silently change every
paper that uses them.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reproductions.parts import losses
from reproductions.parts.regularizers import EMA, clip_weights, gradient_penalty, orthogonal_regularisation, spectral_norm_all

T = torch.tensor


def close(a: torch.Tensor | float, b: float, tol: float = 1e-6) -> bool:
    value = float(a.detach()) if isinstance(a, torch.Tensor) else float(a)
    return abs(value - b) <= tol


# -- Goodfellow et al. 2014: minimax and non-saturating -------------------------------------------------
def test_gan_discriminator_loss_on_known_logits():
    # -log σ(2) - log(1 - σ(-1)) = log(1 + e^-2) + log(1 + e^-1)
    assert close(losses.d_loss_gan(T([2.0]), T([-1.0])), math.log1p(math.exp(-2)) + math.log1p(math.exp(-1)))
    # D undecided (logit 0) on both: 2 log 2
    assert close(losses.d_loss_gan(T([0.0, 0.0]), T([0.0, 0.0])), 2 * math.log(2))


def test_generator_losses_minimax_versus_non_saturating():
    f = T([0.0, 1.0])
    sig = torch.sigmoid(f)
    assert close(losses.g_loss_minimax(f), float(torch.log(1 - sig).mean()))  # G minimises log(1 - D(G(z)))
    assert close(losses.g_loss_nonsaturating(f), float(-torch.log(sig).mean()))  # G maximises log D(G(z))

    # The reason for the non-saturating loss (Goodfellow et al. 2014, section 3): when D confidently
    # rejects a fake (logit -10) the minimax gradient vanishes while the non-saturating one does not.
    logit = T([-10.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(losses.g_loss_minimax(logit), logit)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(logit), logit)
    assert abs(float(g_mm)) < 1e-4 and close(g_ns, -1.0, 1e-4)


# -- hinge, Wasserstein, least squares ------------------------------------------------------------------
def test_hinge_values():
    real, fake = T([0.5, 2.0]), T([-2.0, 0.5])
    # real: relu(1 - 0.5) = 0.5, relu(1 - 2) = 0 -> 0.25;  fake: relu(1 - 2) = 0, relu(1.5) = 1.5 -> 0.75
    assert close(losses.d_loss_hinge(real, fake), 1.0)
    assert close(losses.g_loss_hinge(fake), 0.75)


def test_wasserstein_values():
    real, fake = T([1.0, 3.0]), T([0.0, 2.0])
    assert close(losses.d_loss_wasserstein(real, fake), 1.0 - 2.0)  # E[D(fake)] - E[D(real)]
    assert close(losses.g_loss_wasserstein(fake), -1.0)


def test_least_squares_with_abc_coding():
    # 0-1-1 coding (Mao et al., eq. 9): ½E[(D(x)-1)²] + ½E[D(G(z))²]
    assert close(losses.d_loss_least_squares(T([1.0, 0.0]), T([0.0, 1.0]), a=0.0, b=1.0), 0.25 + 0.25)
    # -1/1/0 coding (eq. 8): D exactly on its targets costs nothing
    assert close(losses.d_loss_least_squares(T([1.0]), T([-1.0]), a=-1.0, b=1.0), 0.0)
    assert close(losses.d_loss_least_squares(T([3.0]), T([1.0]), a=-1.0, b=1.0), 0.5 * 4 + 0.5 * 4)
    assert close(losses.g_loss_least_squares(T([0.0]), c=1.0), 0.5)
    assert close(losses.g_loss_least_squares(T([2.0]), c=0.0), 2.0)


# -- f-GAN: Tables 2 and 6 of Nowozin et al. --------------------------------------------------------------
# The generators f of Table 1, to check each conjugate against f*(t) = sup_u (u·t - f(u)).
GENERATORS = {
    "kl": lambda u: u * torch.log(u),
    "reverse-kl": lambda u: -torch.log(u),
    "pearson": lambda u: (u - 1) ** 2,
    "squared-hellinger": lambda u: (torch.sqrt(u) - 1) ** 2,
    "jensen-shannon": lambda u: -(u + 1) * torch.log((1 + u) / 2) + u * torch.log(u),
    "gan": lambda u: u * torch.log(u) - (u + 1) * torch.log(u + 1),
}
# Points t inside each conjugate's domain (dom f*: R, R-, R, t < 1, t < log 2, t < 0).
DOMAIN_POINTS = {
    "kl": [-1.0, 0.0, 1.5], "reverse-kl": [-3.0, -1.0, -0.2], "pearson": [-1.5, 0.0, 2.0],
    "squared-hellinger": [-2.0, 0.0, 0.6], "jensen-shannon": [-2.0, 0.0, 0.5], "gan": [-3.0, -1.0, -0.2],
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_conjugate_is_the_fenchel_conjugate_of_its_generator(name):
    u = torch.logspace(-6, 4, 400_001, dtype=torch.float64)
    f = GENERATORS[name](u)
    for t in DOMAIN_POINTS[name]:
        numeric = float((u * t - f).max())
        exact = float(losses.f_divergence(name).conjugate(torch.tensor(t, dtype=torch.float64)))
        assert abs(numeric - exact) < 1e-3, (name, t, numeric, exact)


def test_activations_and_conjugates_at_known_points():
    fd = losses.f_divergence
    assert close(fd("kl").conjugate(T(1.0)), 1.0)  # exp(1 - 1)
    assert close(fd("kl").activation(T(0.7)), 0.7)
    assert close(fd("reverse-kl").activation(T(0.0)), -1.0)  # -exp(0)
    assert close(fd("reverse-kl").conjugate(T(-1.0)), -1.0)  # -1 - log 1
    assert close(fd("pearson").conjugate(T(2.0)), 3.0)  # 4/4 + 2
    assert close(fd("squared-hellinger").activation(T(0.0)), 0.0)  # 1 - exp(0)
    assert close(fd("squared-hellinger").conjugate(T(0.5)), 1.0)  # 0.5 / 0.5
    assert close(fd("jensen-shannon").activation(T(0.0)), 0.0)  # log 2 - log(1 + 1)
    assert close(fd("jensen-shannon").conjugate(T(0.0)), 0.0)  # -log(2 - 1)
    assert close(fd("gan").activation(T(0.0)), -math.log(2))  # -log(1 + 1)
    assert close(fd("gan").conjugate(T(-math.log(2))), math.log(2))  # -log(1 - ½)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_fused_conjugate_of_activation_matches_the_composition(name):
    fd = losses.f_divergence(name)
    v = torch.linspace(-8, 8, 161, dtype=torch.float64)  # where the composition is still exact
    assert torch.allclose(fd.conjugate_of_activation(v), fd.conjugate(fd.activation(v)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_d_loss_f_stays_finite_for_a_confident_critic(name):
    # Regression: composing f*(g_f(v)) in float32 gave inf for v ≳ 17 (gan, jensen-shannon,
    # squared-hellinger); the loss must stay finite wherever the exact value is.
    v = torch.linspace(-30, 30, 61)
    assert torch.isfinite(losses.d_loss_f(v, v, name))
    assert torch.isfinite(losses.g_loss_f(v, name))


def test_f_gan_divergence_gan_is_the_gan_discriminator_loss_even_at_large_logits():
    real, fake = T([25.0, -3.0]), T([30.0, 0.5])
    assert close(losses.d_loss_f(real, fake, "gan"), float(losses.d_loss_gan(real, fake)), 1e-4)


def test_d_loss_f_equals_the_hand_formula():
    real, fake = T([1.0, 2.0]), T([0.0, 1.0])
    # KL: -(E_P[v] - E_Q[exp(v - 1)])
    assert close(losses.d_loss_f(real, fake, "kl"), -(1.5 - (math.exp(-1) + 1) / 2))
    # Pearson: -(E_P[v] - E_Q[v²/4 + v])
    assert close(losses.d_loss_f(real, fake, "pearson"), -(1.5 - (0.0 + 1.25) / 2))
    # GAN: -(E_P[-softplus(-v)] - E_Q[-log(1 - exp(-softplus(-v)))]) = E_P[softplus(-v)] + E_Q[softplus(v)]
    assert close(losses.d_loss_f(real, fake, "gan"), float(losses.d_loss_gan(real, fake)), 1e-5)
    assert close(losses.g_loss_f(fake, "kl"), -0.5)  # -E_Q[g_f(v)] with g_f = identity


@pytest.mark.parametrize("name,v", [("kl", 1.0), ("reverse-kl", 0.0), ("pearson", 0.0),
                                    ("squared-hellinger", 0.0), ("jensen-shannon", 0.0), ("gan", 0.0)])
def test_bound_at_the_optimal_critic_for_identical_distributions(name, v):
    # With P = Q the optimal T is f'(1) everywhere and the bound is tight: F = D_f(P‖P) = f(1), which
    # is 0 for every true divergence and -log 4 for the "gan" generator u log u - (u+1) log(u+1).
    x = torch.full((4,), v)
    f_at_1 = -2 * math.log(2) if name == "gan" else 0.0
    assert close(losses.d_loss_f(x, x, name), -f_at_1, 1e-6)


def test_unknown_divergence_is_an_error():
    with pytest.raises(ValueError, match="unknown f-divergence"):
        losses.f_divergence("neyman")


# -- regularisers ---------------------------------------------------------------------------------------
def test_gradient_penalty_of_a_linear_critic_is_exact():
    torch.manual_seed(0)
    w = torch.randn(1 * 4 * 4)
    w = (3.0 * w / w.norm()).requires_grad_(True)  # ‖w‖ = 3: GP = (3 - 1)² = 4 wherever x̂ lands
    critic = lambda x: x.flatten(1) @ w  # noqa: E731
    real, fake = torch.randn(5, 1, 4, 4), torch.randn(5, 1, 4, 4)
    gp = gradient_penalty(critic, real, fake)
    assert close(gp, 4.0, 1e-5)
    # The penalty is differentiable in the critic's parameters: d/dw (‖w‖ - 1)² = 2(‖w‖ - 1) w/‖w‖.
    (grad,) = torch.autograd.grad(gp, w)
    assert torch.allclose(grad, 2 * (3.0 - 1.0) * w.detach() / 3.0, atol=1e-5)
    assert close(gradient_penalty(critic, real, fake, target=3.0), 0.0, 1e-5)


def test_clip_weights_bounds_every_parameter_and_leaves_the_inside_alone():
    net = nn.Sequential(nn.Linear(3, 1), nn.BatchNorm1d(1))
    with torch.no_grad():
        net[0].weight.copy_(T([[-0.5, 0.005, 0.02]]))
        net[0].bias.fill_(-0.003)
        net[1].weight.fill_(1.0)
    clip_weights(net, 0.01)
    assert torch.equal(net[0].weight, T([[-0.01, 0.005, 0.01]]))
    assert close(net[0].bias, -0.003)  # inside the box: untouched
    assert close(net[1].weight, 0.01)  # batchnorm's scale is a parameter too
    assert all(p.abs().max() <= 0.01 for p in net.parameters())


def _sigma_max(weight: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2))


def test_spectral_norm_all_normalises_every_weight():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 8, 4, 2, 1), nn.Flatten(), nn.Linear(8 * 4 * 4, 1))
    with torch.no_grad():  # make the raw weights far from norm 1, so an unnormalised layer would fail
        for m in net:
            if hasattr(m, "weight"):
                m.weight.mul_(7.0)
    layers = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert all(_sigma_max(m.weight) > 2.0 for m in layers)
    spectral_norm_all(net)
    net.train()
    for _ in range(5):  # each training forward pass runs one power iteration
        net(torch.randn(2, 3, 8, 8))
    net.eval()
    for m in layers:
        assert hasattr(m, "parametrizations") and "weight" in m.parametrizations
        assert abs(_sigma_max(m.weight) - 1.0) < 1e-2, m


def test_ema_update_arithmetic_and_buffers():
    source = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    with torch.no_grad():
        source[0].weight.fill_(0.0)
    ema = EMA(source, decay=0.9)
    with torch.no_grad():
        source[0].weight.fill_(1.0)
        source[1].running_mean.fill_(5.0)
    ema.update(source)
    assert close(ema.shadow[0].weight, 0.1)  # 0.9·0 + 0.1·1
    ema.update(source)
    assert close(ema.shadow[0].weight, 0.19)  # 0.9·0.1 + 0.1·1
    assert close(ema.shadow[1].running_mean, 5.0)  # buffers are copied, not averaged
    assert not any(p.requires_grad for p in ema.shadow.parameters())


def test_orthogonal_regularisation():
    torch.manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6))
    orthogonal = nn.Linear(6, 6, bias=False)
    with torch.no_grad():
        orthogonal.weight.copy_(q)
    assert close(orthogonal_regularisation(orthogonal, strength=1.0), 0.0, 1e-8)
    skewed = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        skewed.weight.copy_(T([[1.0, 1.0], [0.0, 1.0]]))
    # W Wᵀ = [[2, 1], [1, 1]]: the off-diagonal squares sum to 2 (the diagonal is excluded)
    assert close(orthogonal_regularisation(skewed, strength=0.5), 1.0, 1e-6)
