"""VAE — Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (arXiv 1312.6114).

Not a GAN: a latent-variable model p_θ(x|z) p(z) fitted by maximising a lower bound on the data's
log-likelihood, with an inference network q_φ(z|x). It samples like any generator here: z ~ p(z) =
N(0, I), then the decoder's Bernoulli means, and is scored like any other entry.

Read alongside the paper:
- Section 2.2, eq. 3: the variational lower bound L(θ, φ; x) = −D_KL(q_φ(z|x) ‖ p_θ(z)) + E_q[log p_θ(x|z)].
- Section 2.4, eq. 10: the SGVB estimator L̃ᴮ with the KL term in closed form (appendix B) and the
  reparameterisation z = μ + σ ⊙ ε, ε ~ N(0, I); "L = 1 as long as the minibatch size M was large
  enough, e.g. M = 100" (section 2.3). Algorithm 1: minibatch gradient steps on L̃ᴹ, θ and φ together.
- Section 3 (example): q_φ(z|x) = N(μ, σ² I) with μ and log σ² outputs of an MLP; p(z) = N(0, I).
- Appendix C: the MLPs — one hidden layer of tanh units in encoder and decoder; the decoder for
  binary data is Bernoulli, y = sigmoid(W₂ tanh(W₁ z + b₁) + b₂) (C.1); the encoder's two heads (C.2).
- Section 5 (experiments, MNIST): 500 hidden units; weights initialised from N(0, 0.01); Adagrad
  with a global step size from {0.01, 0.02, 0.1}; minibatches of M = 100 with L = 1; a small weight
  decay for the prior p(θ) = N(0, I).

The shared pieces (the Gaussian encoder, the ELBO, the closed-form KL) live in
`reproductions.parts.autoencoders`; this module is the paper's model and its training step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.parts.autoencoders import (
    GaussianEncoder, MLPDecoder, bernoulli_log_likelihood, gaussian_kl, reparameterise)


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 20  # section 5 / fig. 2 trains N_z in {3, 5, 10, 20, 200}; 20 is our pick among them
    hidden: int = 500  # "500 hidden units in case of MNIST"
    hidden_layers: int = 1  # appendix C: one hidden layer in encoder and decoder
    lr: float = 0.02  # Adagrad's global step size, chosen "from {0.01, 0.02, 0.1}"; 0.02 is our pick
    # The N(0, I) prior on θ as weight decay: −log p(θ) / N per example (N = 60,000 MNIST digits).
    weight_decay: float = 1.6667e-05
    init_std: float = 0.01  # "initialized by random sampling from N(0, 0.01)" (read as a std)


class VAE(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        self.encoder = GaussianEncoder(data.features, hp.hidden, hp.hidden_layers, hp.z_dim, activation="tanh")
        # G is the decoder p_θ(x|z): the generator the harness samples from.
        self.G = MLPDecoder(hp.z_dim, hp.hidden, hp.hidden_layers, data.shape, activation="tanh")
        for net in (self.encoder, self.G):
            for module in net.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0.0, hp.init_std)
                    nn.init.normal_(module.bias, 0.0, hp.init_std)
            net.to(device)
        # Algorithm 1 updates θ and φ together on one objective: one optimiser for both.
        self.opt = torch.optim.Adagrad([*self.encoder.parameters(), *self.G.parameters()], lr=hp.lr,
                                       weight_decay=hp.weight_decay)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        pixels = to_unit_interval(real[-1].images)  # the Bernoulli decoder models [0, 1] grey levels
        mean, log_variance = self.encoder(pixels)
        z = reparameterise(mean, log_variance)  # L = 1 sample per datapoint
        log_likelihood = bernoulli_log_likelihood(self.G(z), pixels)
        kl = gaussian_kl(mean, log_variance)
        elbo = (log_likelihood - kl).mean()  # eq. 10, averaged over the minibatch
        self.update(self.opt, -elbo)
        return {"elbo": elbo.detach(), "kl": kl.mean().detach(), "reconstruction": -log_likelihood.mean().detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I) through the decoder; the image is the Bernoulli means (as the paper's figures show)."""
        with self.sampling_mode(self.G):
            return from_unit_interval(torch.sigmoid(self.G(self.noise(n, generator))))


REPRODUCTION = VAE
