"""GMMN — Li, Swersky & Zemel, "Generative Moment Matching Networks", ICML 2015 (arXiv 1502.02761).

Not a GAN: one network G maps uniform noise to samples and is trained by minimising the maximum
mean discrepancy between a minibatch of samples and a minibatch of data — no discriminator. It
samples through the same `sample` as any generator here and is scored like one.

Read alongside the paper and its released code (github.com/yujiali/gmmn, `train.py`,
`core/generative.py`), which fixes what the paper leaves to the appendix:
- Section 2.2, eq. 2: the MMD² of two samples with a kernel k; section 3.2 uses a Gaussian kernel
  k(x, x') = exp(−‖x − x'‖² / (2σ)) and a *bank* of them ("a mixture of several kernels with
  different bandwidths"), weights 1. `reproductions.parts.mmd` holds the estimator and the bank.
- Section 3.1 / the code's `SqrtGaussianKernelMmdLoss`: the loss is √MMD² (the V-statistic,
  every pair included), which "we found [to] work better in practice" (section 3.2).
- Section 3.1, fig. 1(a): GMMN in data space; G has uniform hidden units at the top
  (`StochasticGenerativeNet.sample_hiddens`: U[-1, 1]), ReLU layers, a sigmoid output.
  MNIST (`mnist_mmd_input_space`): G 10 → 64 → 256 → 256 → 1024 → 784, bank σ ∈ {2, 5, 10, 20, 40, 80}.
- Section 3.3, fig. 1(b): GMMN+AE — an autoencoder is trained first (784 → 1024 → 32, sigmoid
  units, dropout 0.2 on the input and 0.5 on the hidden layer, a mirrored sigmoid decoder, binary
  cross-entropy), then G learns to match the MMD of the *codes* (one kernel, σ = 1), and a sample is
  the decoder applied to G's code (`mnist_mmd_code_space`). That is `space = "code"`, the
  registry's variant `gmmn@code`.
- Section 4 / `train_sgd`: minibatches of 1,000 data and 1,000 samples, SGD with momentum 0.9,
  lr 2 (the code's loss weight 1000 over its 1,000 samples makes the step that of √MMD² itself);
  at iteration 10,000 the lr drops ×10 and the momentum goes to 0.99; 40,000 iterations. The
  autoencoder: SGD lr 0.1 on batches of 100, momentum ramped 0 → 0.5 → 0.9 at its iterations 50
  and 200, gradient norm clipped at 10, 3,000 iterations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from torch import nn
import torch.nn.functional as F

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, evaluating

from reproductions.gan import from_unit_interval, to_unit_interval
from reproductions.parts.autoencoders import hidden_layers
from reproductions.parts.mmd import Estimator, mmd


@dataclass(frozen=True)
class Hyperparameters:
    space: Literal["data", "code"] = "data"  # fig. 1(a) GMMN, or fig. 1(b) GMMN+AE
    z_dim: int = 10  # uniform hidden units at the top of G
    g_widths: tuple[int, ...] = (64, 256, 256, 1024)  # ReLU layers, noise side first
    # Bank of σ in exp(−d² / (2σ)); data space: {2, …, 80} on [0, 1] pixels. The code variant sets (1.0,).
    bandwidths: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
    estimator: Estimator = "biased"  # the code's sᵀKs V-statistic
    lr: float = 2.0
    momentum: float = 0.9
    # At this iteration (of G's training) lr /= 10 and momentum = 1 − (1 − momentum) / 10.
    schedule_step: int = 10_000
    # GMMN+AE: the autoencoder, trained first for this many steps (scaled down in proportion for a
    # budget shorter than autoencoder_steps + gmmn_steps, the paper's 3,000 + 40,000).
    autoencoder_steps: int = 3000
    gmmn_steps: int = 40_000
    code_dim: int = 32
    ae_hidden: int = 1024
    ae_input_dropout: float = 0.2
    ae_code_dropout: float = 0.5
    ae_lr: float = 0.1
    ae_batch_size: int = 100  # the autoencoder's step uses the first 100 images of the batch
    ae_max_grad_norm: float = 10.0


class UniformGenerator(nn.Module):
    """u ~ U[-1, 1]^z_dim → ReLU layers → sigmoid output of `out_features` (pixels or codes in [0, 1])."""

    def __init__(self, z_dim: int, widths: Sequence[int], out_features: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = z_dim
        for w in widths:
            layers += [nn.Linear(width, w), nn.ReLU()]
            width = w
        layers += [nn.Linear(width, out_features), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.net(u)


class Autoencoder(nn.Module):
    """Section 3.3's autoencoder: sigmoid layers, dropout on the encoder's input and code layer."""

    def __init__(self, pixels: int, hidden: int, code: int, input_dropout: float, code_dropout: float):
        super().__init__()
        self.encoder = nn.Sequential(nn.Dropout(input_dropout), *hidden_layers(pixels, hidden, 1, "sigmoid"),
                                     nn.Dropout(code_dropout), nn.Linear(hidden, code), nn.Sigmoid())
        # The decoder ends in logits: the sigmoid lives in the cross-entropy, and `decode` applies it.
        self.decoder = nn.Sequential(*hidden_layers(code, hidden, 1, "sigmoid"), nn.Linear(hidden, pixels))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(codes))


class GMMN(Reproduction):
    Hyperparameters = Hyperparameters

    def __init__(self, data: DataSpec, hp: Hyperparameters, device: torch.device):
        super().__init__(data, hp, device)
        matched = hp.code_dim if hp.space == "code" else data.features
        self.G = UniformGenerator(hp.z_dim, hp.g_widths, matched).to(device)
        self.opt_G = torch.optim.SGD(self.G.parameters(), lr=hp.lr, momentum=hp.momentum)
        if hp.space == "code":
            self.autoencoder = Autoencoder(data.features, hp.ae_hidden, hp.code_dim, hp.ae_input_dropout,
                                           hp.ae_code_dropout).to(device)
            self.opt_AE = torch.optim.SGD(self.autoencoder.parameters(), lr=hp.ae_lr, momentum=0.0)
        self.autoencoder_steps = hp.autoencoder_steps if hp.space == "code" else 0

    def plan(self, g_steps: int, batch_size: int) -> None:
        """GMMN+AE spends the paper's share of the budget (3,000 of 43,000 steps) on the autoencoder
        when the budget is shorter than the paper's; at least one step."""
        if self.hp.space != "code":
            return
        paper_total = self.hp.autoencoder_steps + self.hp.gmmn_steps
        if g_steps < paper_total:
            self.autoencoder_steps = max(1, round(self.hp.autoencoder_steps * g_steps / paper_total))
        else:
            self.autoencoder_steps = self.hp.autoencoder_steps

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The code's `sample_hiddens`: uniform on [-1, 1]^z_dim."""
        return torch.rand(n, self.hp.z_dim, device=self.device, generator=generator) * 2 - 1

    def _set_schedule(self, gmmn_step: int) -> None:
        late = gmmn_step >= self.hp.schedule_step
        for group in self.opt_G.param_groups:
            group["lr"] = self.hp.lr / 10 if late else self.hp.lr
            group["momentum"] = 1 - (1 - self.hp.momentum) / 10 if late else self.hp.momentum

    def _autoencoder_step(self, pixels: torch.Tensor, ae_step: int) -> dict[str, torch.Tensor]:
        """One SGD step on the autoencoder's binary cross-entropy (summed over pixels, mean over examples)."""
        momentum = 0.0 if ae_step < 50 else (0.5 if ae_step < 200 else 0.9)  # the code's momentum_schedule
        for group in self.opt_AE.param_groups:
            group["momentum"] = momentum
        x = pixels[: self.hp.ae_batch_size]
        logits = self.autoencoder.decoder(self.autoencoder.encoder(x))
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
        self.opt_AE.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.autoencoder.parameters(), self.hp.ae_max_grad_norm)
        self.opt_AE.step()
        return {"autoencoder_bce": loss.detach()}

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        pixels = to_unit_interval(real[-1].images).flatten(1)  # the paper's [0, 1] pixels
        if step < self.autoencoder_steps:
            return self._autoencoder_step(pixels, step)
        target = pixels
        if self.hp.space == "code":
            with torch.no_grad(), evaluating(self.autoencoder):  # codes without dropout, as `encode` gives them
                target = self.autoencoder.encoder(pixels)
        self._set_schedule(step - self.autoencoder_steps)
        samples = self.G(self.noise(len(target)))
        loss = mmd(samples, target, self.hp.bandwidths, self.hp.estimator)
        self.update(self.opt_G, loss)
        return {"mmd": loss.detach()}

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        out = self.G(self.noise(n, generator))
        if self.hp.space == "code":
            with evaluating(self.autoencoder):
                out = self.autoencoder.decode(out)
        return from_unit_interval(out).view(n, *self.data.shape)


REPRODUCTION = GMMN
