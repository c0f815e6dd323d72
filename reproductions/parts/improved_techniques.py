"""The techniques of Salimans et al. 2016, "Improved Techniques for Training GANs" (arXiv 1606.03498), each a
piece another reproduction can switch on, and the layers of its official code (openai/improved-gan,
mnist_svhn_cifar10/nn.py) that later semi-supervised GANs (Triple-GAN's code) reuse.

- Section 3.1, feature matching: G matches the batch means of an intermediate layer of D.
- Section 3.2, minibatch discrimination: each example's features get the closeness of its projections to
  every other example's in the batch (the code leaves the example itself out: +1e6 on the diagonal).
- Section 3.3, historical averaging: ||θ − (1/t) Σ_i θ[i]||² added to a player's cost.
- Section 3.4, one-sided label smoothing: the real target is α (0.9), the fake target stays 0.
- Section 3.5, virtual batch normalisation: each example normalised by the statistics of a fixed
  reference batch together with itself.
- Section 5, the K+1-class discriminator with the fake class's logit fixed at 0: D(x) = Z(x) / (Z(x) + 1),
  Z(x) = Σ_k exp l_k(x), so log D(x) = LSE(l) − softplus(LSE(l)) and log(1 − D(x)) = −softplus(LSE(l)).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn


# ---------------------------------------------------------------- section 5: the K+1-class discriminator
def k_plus_one_labelled_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """−E log p(y | x, y < K+1): cross-entropy over the K real-class logits (the code's loss_lab)."""
    return F.cross_entropy(logits, labels)


def k_plus_one_unlabelled_loss(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """The GAN value with D(x) = Z/(Z+1) (the code's loss_unl, halved over its two halves):
    −½ E[t log D(x) + (1−t) log(1 − D(x))] − ½ E log(1 − D(G(z))), t the real target (1, or α for
    one-sided label smoothing)."""
    lse_real, lse_fake = torch.logsumexp(real_logits, dim=1), torch.logsumexp(fake_logits, dim=1)
    log_d_real = lse_real - F.softplus(lse_real)
    log_not_d_real = -F.softplus(lse_real)
    real_term = -(real_target * log_d_real + (1 - real_target) * log_not_d_real).mean()
    return 0.5 * real_term + 0.5 * F.softplus(lse_fake).mean()


# ---------------------------------------------------------------------- section 3.1: feature matching
def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """||E f(x) − E f(G(z))||², as the code takes it: the mean over features of the squared difference of
    the batch means (train_mnist_feature_matching.py's loss_gen)."""
    return (real_features.mean(dim=0) - fake_features.mean(dim=0)).square().mean()


# --------------------------------------------------------------- section 3.2: minibatch discrimination
class MinibatchDiscrimination(nn.Module):
    """f(x_i) ∈ R^A → [f(x_i), o(x_i)] ∈ R^{A+B}: M_i = f(x_i)·T (B kernels of C dims), c_b(i, j) =
    exp(−||M_{i,b} − M_{j,b}||₁), o(x_i)_b = Σ_{j≠i} c_b(i, j) + bias_b (nn.py MinibatchLayer: T
    weight-normalised over A with a learned log scale, bias −1, the example itself left out)."""

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5):
        super().__init__()
        self.theta = nn.Parameter(torch.randn(in_features, kernels, kernel_dim) * 0.05)
        self.log_weight_scale = nn.Parameter(torch.zeros(kernels, kernel_dim))
        self.bias = nn.Parameter(torch.full((kernels,), -1.0))

    def forward(self, features: Tensor) -> Tensor:
        features = features.flatten(1)
        weight = self.theta * (self.log_weight_scale.exp() / self.theta.square().sum(0).sqrt())
        m = torch.einsum("na,abc->nbc", features, weight)  # (N, B, C)
        distances = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # (N, N, B): L1 over C
        closeness = torch.exp(-distances) * (1 - torch.eye(len(m), device=m.device, dtype=m.dtype)).unsqueeze(2)
        return torch.cat([features, closeness.sum(dim=1) + self.bias], dim=1)


# ----------------------------------------------------------------- section 3.3: historical averaging
class HistoricalAverage:
    """The running mean (1/t) Σ_i θ[i] of a module's parameters, and the penalty ||θ − mean||² (summed over
    every parameter). `update()` after each optimiser step adds θ[t]; before the first the penalty is 0."""

    def __init__(self, module: nn.Module):
        self.module = module
        self.mean = [torch.zeros_like(p, requires_grad=False) for p in module.parameters()]
        self.count = 0

    @torch.no_grad()
    def update(self) -> None:
        self.count += 1
        for mean, p in zip(self.mean, self.module.parameters()):
            mean.add_((p.detach() - mean) / self.count)

    def penalty(self) -> Tensor:
        params = list(self.module.parameters())
        if self.count == 0:
            return params[0].new_zeros(())
        return sum((p - mean).square().sum() for p, mean in zip(params, self.mean))

    def state_dict(self) -> dict:
        return {"mean": [m.clone() for m in self.mean], "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean = [m.to(p.device) for m, p in zip(state["mean"], self.module.parameters())]
        self.count = int(state["count"])


# ------------------------------------------------------------ section 3.4: one-sided label smoothing
def d_loss_one_sided_smoothing(real: Tensor, fake: Tensor, alpha: float = 0.9) -> Tensor:
    """A binary D's cross-entropy with the real target smoothed to α and the fake target left at 0."""
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, alpha))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


# -------------------------------------------------------------- section 3.5: virtual batch normalisation
class VirtualBatchNorm(nn.Module):
    """Normalise each example by the mean and variance of the reference batch together with itself: with n
    reference examples, μ = (n μ_ref + x)/(n+1), σ² = (n E_ref[x²] + x²)/(n+1) − μ². Inside `reference()`
    (for the whole network: `VirtualBatchNorm.reference_pass(net)`) the batch is the reference batch: its
    statistics are stored and it is normalised by them. Over the feature dim 1 (and spatial dims for 4-D)."""

    def __init__(self, features: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(features)) if affine else None
        self.register_buffer("ref_mean", torch.zeros(features))
        self.register_buffer("ref_meansq", torch.ones(features))
        self.register_buffer("ref_count", torch.zeros((), dtype=torch.long))
        self._collecting = False

    def _shape(self, x: Tensor, v: Tensor) -> Tensor:
        return v.view(1, -1, *([1] * (x.dim() - 2)))

    def forward(self, x: Tensor) -> Tensor:
        axes = [0] + list(range(2, x.dim()))
        if self._collecting:
            self.ref_mean, self.ref_meansq = x.mean(axes).detach(), x.square().mean(axes).detach()
            self.ref_count = torch.tensor(x.shape[0])
            mean, meansq = self._shape(x, self.ref_mean), self._shape(x, self.ref_meansq)
        else:
            n, own = float(self.ref_count), [d for d in range(2, x.dim())]
            x_mean = x.mean(own, keepdim=True) if own else x
            x_meansq = x.square().mean(own, keepdim=True) if own else x.square()
            mean = (n * self._shape(x, self.ref_mean) + x_mean) / (n + 1)
            meansq = (n * self._shape(x, self.ref_meansq) + x_meansq) / (n + 1)
        out = (x - mean) / torch.sqrt((meansq - mean.square()).clamp_min(0) + self.eps)
        if self.weight is not None:
            out = out * self._shape(x, self.weight) + self._shape(x, self.bias)
        return out

    @staticmethod
    @contextmanager
    def reference_pass(net: nn.Module) -> Iterator[None]:
        """Inside it, every VirtualBatchNorm of `net` takes the batch it sees as its reference batch."""
        layers = [m for m in net.modules() if isinstance(m, VirtualBatchNorm)]
        for layer in layers:
            layer._collecting = True
        try:
            yield
        finally:
            for layer in layers:
                layer._collecting = False


# ------------------------------------------------------ the official code's layers (nn.py, "older code used for MNIST")
class GaussianNoise(nn.Module):
    """x + N(0, σ²) in training, x itself in eval mode (nn.py GaussianNoiseLayer)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = sigma

    def forward(self, x: Tensor) -> Tensor:
        return x + self.sigma * torch.randn_like(x) if self.training and self.sigma else x


class WeightNormDense(nn.Module):
    """nn.py DenseLayer: W = θ · s / ||θ||_col, θ ~ N(0, 0.1²), b = 0, scale s = 1 (learned only where
    `train_scale`, else a buffer that the data-dependent init alone sets); ReLU unless `relu=False`."""

    def __init__(self, in_features: int, out_features: int, relu: bool = True, train_scale: bool = False):
        super().__init__()
        self.theta = nn.Parameter(torch.randn(in_features, out_features) * 0.1)
        self.bias = nn.Parameter(torch.zeros(out_features))
        scale = torch.ones(out_features)
        if train_scale:
            self.scale = nn.Parameter(scale)
        else:
            self.register_buffer("scale", scale)
        self.relu = relu

    def pre_activation(self, x: Tensor) -> Tensor:
        return x.flatten(1) @ (self.theta * (self.scale / self.theta.square().sum(0).sqrt()))

    def forward(self, x: Tensor) -> Tensor:
        out = self.pre_activation(x) + self.bias
        return F.relu(out) if self.relu else out

    @torch.no_grad()
    def initialise_from(self, x: Tensor) -> Tensor:
        """Data-dependent init (the code's `init=True` pass): scale ← scale/σ and b ← −μ/σ of this batch's
        pre-activations, so they start at zero mean and unit variance; returns the layer's output."""
        activation = self.pre_activation(x)
        mean = activation.mean(0)
        std = (activation - mean).square().mean(0).sqrt()
        self.scale.div_(std)
        self.bias.copy_(-mean / std)
        return self.forward(x)


@torch.no_grad()
def data_dependent_init(layers: Iterable[nn.Module], x: Tensor) -> None:
    """Run `x` through `layers` in order, each WeightNormDense initialising itself on what reaches it."""
    for layer in layers:
        x = layer.initialise_from(x) if isinstance(layer, WeightNormDense) else layer(x)
