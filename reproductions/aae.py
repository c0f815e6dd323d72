"""AAE — Makhzani, Shlens, Jaitly, Goodfellow & Frey, "Adversarial Autoencoders", ICLR 2016
workshop / arXiv 1511.05644.

An autoencoder whose code is pushed towards a prior p(z) by a GAN played *in code space*: the
encoder q(z|x) is the generator, a discriminator tells its codes from prior samples, and the
decoder p(x|z) becomes a generative model — a sample is the decoder applied to z ~ p(z).

Read alongside the paper:
- Section 2, fig. 1: the adversarial network's D sees prior samples (positive) and the aggregated
  posterior's codes q(z) = ∫ q(z|x) p_d(x) dx (negative); eq. 1 is the GAN value function on them.
- Section 2, "both trained jointly with SGD in two phases executed on each mini-batch": the
  *reconstruction phase* updates encoder and decoder on the reconstruction error; the
  *regularization phase* first updates D, then the encoder (the generator) to confuse D.
- Section 2.1: q(z|x) may be deterministic, Gaussian or a universal approximator; the paper's
  experiments use the deterministic encoder, our only option here.
- Appendix A / section 3 (MNIST likelihood experiment): encoder, decoder and D each have two
  hidden layers of 1,000 ReLU units; the code is 8-dimensional with a Gaussian prior; the
  decoder's output is a sigmoid; SGD with momentum on minibatches of 100.

- Section 4 (supervised AAE, fig. 6), `supervised = True`, the registry's variant `aae@supervised`:
  the label is given to the decoder as a one-hot vector beside the code, p(x|z, y); the encoder still
  sees only x and its code is matched to the prior adversarially, so the code carries the style and
  the label the class. It samples z ~ p(z) with a label (uniform over the classes unless given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.parts.autoencoders import GaussianEncoder, MLPDecoder, hidden_layers
from reproductions.parts.losses import binary_accuracy, d_loss_gan, g_loss_nonsaturating


@dataclass(frozen=True)
class Hyperparameters:
    z_dim: int = 8  # section 3's MNIST code
    prior_std: float = 1.0  # p(z) = N(0, prior_std² I)
    hidden: int = 1000  # every net: two hidden layers of 1,000 ReLU units
    hidden_layers: int = 2
    reconstruction_lr: float = 0.01  # the reconstruction phase's SGD
    # The regularization phase's SGD (D and the encoder as generator). Our reading of appendix A was 0.1;
    # at 0.1 with momentum 0.9 the smoke run diverged (non-finite D loss), so 0.01, as the reconstruction phase.
    regularization_lr: float = 0.01
    momentum: float = 0.9
    supervised: bool = False  # section 4: the decoder also gets the one-hot label


class AAE(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        if hp.supervised and data.num_classes < 2:
            raise ValueError("the supervised AAE gives the decoder the label: it needs a labelled dataset")
        self.conditional = hp.supervised  # scored on uniformly drawn labels, like any conditional model
        self.encoder = GaussianEncoder(data.features, hp.hidden, hp.hidden_layers, hp.z_dim, "relu",
                                       deterministic=True).to(device)
        decoder_in = hp.z_dim + (data.num_classes if hp.supervised else 0)
        self.G = MLPDecoder(decoder_in, hp.hidden, hp.hidden_layers, data.shape, "relu").to(device)  # p(x|z)
        self.D = nn.Sequential(hidden_layers(hp.z_dim, hp.hidden, hp.hidden_layers, "relu"),
                               nn.Linear(hp.hidden, 1)).to(device)
        sgd = lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=hp.momentum)  # noqa: E731
        self.opt_AE = sgd([*self.encoder.parameters(), *self.G.parameters()], hp.reconstruction_lr)
        self.opt_D = sgd(self.D.parameters(), hp.regularization_lr)
        self.opt_E = sgd(self.encoder.parameters(), hp.regularization_lr)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ p(z) = N(0, prior_std² I)."""
        return self.hp.prior_std * torch.randn(n, self.hp.z_dim, device=self.device, generator=generator)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.encoder(pixels)[0]  # deterministic q(z|x): the mean head only

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """p(x|z), or p(x|z, y) with the one-hot label beside the code (section 4); decoder logits."""
        if self.hp.supervised:
            z = torch.cat([z, F.one_hot(labels, self.data.num_classes).to(z.dtype)], dim=1)
        return self.G(z)

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        pixels = to_unit_interval(real[-1].images)
        # Reconstruction phase: encoder and decoder on the reconstruction error (sigmoid outputs).
        logits = self.decode(self.encode(pixels), real[-1].labels)
        # Mean over pixels, not summed: summed over 784 pixels, SGD at lr 0.01 with momentum 0.9 diverges.
        loss_rec = F.binary_cross_entropy_with_logits(logits, pixels)
        self.update(self.opt_AE, loss_rec)

        # Regularization phase, first D: prior samples are "real", the encoder's codes "fake".
        with torch.no_grad():
            codes = self.encode(pixels)
        d_prior, d_codes = self.D(self.noise(len(pixels))).flatten(), self.D(codes).flatten()
        loss_d = d_loss_gan(d_prior, d_codes)
        self.update(self.opt_D, loss_d)

        # … then the encoder, as the generator, to make its codes pass for prior samples.
        self.D.requires_grad_(False)
        loss_e = g_loss_nonsaturating(self.D(self.encode(pixels)).flatten())
        self.update(self.opt_E, loss_e)
        self.D.requires_grad_(True)
        return {"reconstruction": loss_rec.detach(), "loss_d": loss_d.detach(), "loss_g": loss_e.detach(),
                "d_accuracy": binary_accuracy(d_prior, d_codes).detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ p(z) through the decoder (with a label: the given ones, else uniform); the image is its sigmoid means."""
        z = self.noise(n, generator)
        if self.hp.supervised and labels is None:
            labels = self.random_labels(n, generator)
        with self.sampling_mode(self.G):
            return from_unit_interval(torch.sigmoid(self.decode(z, None if labels is None else labels.to(self.device))))


REPRODUCTION = AAE
