"""reproductions.parts.autoencoders: the ELBO on cases with a known answer, the closed-form KL against
a Monte Carlo estimate, the reparameterisation, and the encoder's two heads."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions.parts.autoencoders import (
    GaussianEncoder, MLPDecoder, bernoulli_log_likelihood, evidence_lower_bound, gaussian_kl, reparameterise)


def test_kl_is_zero_at_the_prior_and_known_elsewhere():
    zeros = torch.zeros(2, 3)
    assert torch.equal(gaussian_kl(zeros, zeros), torch.zeros(2))
    # One dimension: KL(N(μ, σ²) ‖ N(0, 1)) = ½(σ² + μ² − 1 − log σ²); μ = 1, σ² = e gives ½(e + 1 − 1 − 1).
    kl = gaussian_kl(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert kl.item() == pytest.approx(0.5 * (math.e - 1))


def test_kl_matches_a_monte_carlo_estimate():
    mean, log_var = torch.tensor([[0.3, -1.2]]), torch.tensor([[-0.5, 0.4]])
    z = reparameterise(mean.expand(200_000, 2), log_var.expand(200_000, 2), torch.Generator().manual_seed(0))
    q = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    p = torch.distributions.Normal(0.0, 1.0)
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(1).mean()
    assert gaussian_kl(mean, log_var).item() == pytest.approx(monte_carlo.item(), abs=0.01)


def test_reparameterised_samples_have_the_posterior_moments():
    mean, log_var = torch.full((100_000, 1), 2.0), torch.full((100_000, 1), math.log(0.25))
    z = reparameterise(mean, log_var, torch.Generator().manual_seed(1))
    assert z.mean().item() == pytest.approx(2.0, abs=0.01) and z.std().item() == pytest.approx(0.5, abs=0.01)


def test_bernoulli_log_likelihood_and_the_elbo_on_a_known_case():
    # Logit 0 is y = ½ on every pixel: log p(x|z) = 4 · log ½ for any target in [0, 1].
    logits, pixels = torch.zeros(1, 1, 2, 2), torch.tensor([[[[0.0, 1.0], [0.3, 1.0]]]])
    assert bernoulli_log_likelihood(logits, pixels).item() == pytest.approx(4 * math.log(0.5))
    # A confident, right decoder: log-likelihood near 0; the ELBO is then −KL.
    sure = torch.tensor([[[[-30.0, 30.0], [30.0, 30.0]]]])
    binary = torch.tensor([[[[0.0, 1.0], [1.0, 1.0]]]])
    mean, log_var = torch.tensor([[1.0]]), torch.tensor([[1.0]])
    assert evidence_lower_bound(sure, binary, mean, log_var).item() == pytest.approx(-0.5 * (math.e - 1), abs=1e-6)
    assert evidence_lower_bound(logits, pixels, torch.zeros(1, 1), torch.zeros(1, 1)).item() == pytest.approx(4 * math.log(0.5))


def test_encoder_heads_and_decoder_shape():
    encoder = GaussianEncoder(784, 50, 1, 8)
    mean, log_var = encoder(torch.rand(5, 1, 28, 28))
    assert mean.shape == log_var.shape == (5, 8)
    deterministic = GaussianEncoder(784, 50, 2, 8, activation="relu", deterministic=True)
    mean, log_var = deterministic(torch.rand(5, 784))
    assert mean.shape == (5, 8) and log_var is None
    assert MLPDecoder(8, 50, 1, (1, 28, 28))(torch.randn(3, 8)).shape == (3, 1, 28, 28)


def test_batch_kl_of_a_batch_with_known_moments():
    import math

    from reproductions.parts.autoencoders import batch_kl_to_standard_normal

    # Columns [m - s, m + s]: batch mean m, biased batch variance s².
    m, s = torch.tensor([0.5, -2.0, 0.0]), torch.tensor([2.0, 0.5, 3.0])  # Σ log s ≠ 0
    codes = torch.stack([m - s, m + s]).double()
    per_dim = [(sj**2 + mj**2) / 2 - math.log(sj) - 0.5 for mj, sj in zip(m.tolist(), s.tolist())]
    assert batch_kl_to_standard_normal(codes).item() == pytest.approx(sum(per_dim) / 3, rel=1e-12)
    # A batch with mean 0 and variance 1 in every dimension is at the prior: KL 0.
    assert batch_kl_to_standard_normal(torch.tensor([[-1.0, 1.0], [1.0, -1.0]])).item() == pytest.approx(0.0, abs=1e-7)
