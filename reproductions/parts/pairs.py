"""Image–label pairs: a discriminator on (x, y) and the three-player losses of Triple-GAN.

Triple-GAN (Li, Xu, Zhu & Zhang, NeurIPS 2017, section 3) has a classifier C giving p_c(y|x), a
conditional generator G giving p_g(x|y), and a discriminator D(x, y) that tells pairs of the data
distribution p(x, y) from pairs of p_c(x, y) = p(x) p_c(y|x) and p_g(x, y) = p(y) p_g(x|y). Its value
function (eq. 2 of the paper) weights the two fake sources by α and 1 − α:

    U(C, G, D) = E_p[log D(x, y)] + α E_{p_c}[log(1 − D(x, y))] + (1 − α) E_{p_g}[log(1 − D(G(y, z), y))].

- `ConcatLabels` / `PairDiscriminator`: the MLP pair discriminator of the released MNIST code: the
  label enters as a one-hot vector concatenated to the input of every layer, Gaussian noise on the
  image and on every hidden layer, weight-normalised dense layers of fixed unit norm, ReLU.
- `NormalisedLinear`: a dense layer whose weight rows are divided by their norms (Salimans & Kingma
  2016), times a per-unit scale that is either fixed at 1 or learnt.
- `triple_d_loss`, `triple_g_loss`, `triple_c_adversarial_loss`: the three players' shares of U, to
  minimise, on D's logits. C's share uses the released code's argmax approximation: the pseudo-label
  ŷ = argmax p_c(y|x) is fed to D and the loss −log D(x, ŷ) is weighted by p_c(ŷ|x), the only path of
  C's gradient (a score-function estimate with a single, greedy label).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class NormalisedLinear(nn.Module):
    """y = x · (scale ⊙ v / ‖v‖)ᵀ + b, each output unit's weight vector v normalised to unit length."""

    def __init__(self, in_features: int, out_features: int, std: float = 0.05, learn_scale: bool = False):
        super().__init__()
        self.direction = nn.Parameter(torch.randn(out_features, in_features) * std)
        self.scale = nn.Parameter(torch.ones(out_features), requires_grad=learn_scale)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def weight(self) -> Tensor:
        return self.direction * (self.scale / self.direction.norm(dim=1)).unsqueeze(1)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight(), self.bias)


class GaussianNoise(nn.Module):
    """x + N(0, σ²) in training mode, the identity in eval mode."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.std == 0:
            return x
        return x + self.std * torch.randn_like(x)


class ConcatLabels(nn.Module):
    """[h, one_hot(y)]: the label appended to a layer's input."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = num_classes

    def forward(self, h: Tensor, y: Tensor) -> Tensor:
        return torch.cat([h, F.one_hot(y, self.num_classes).to(h.dtype)], dim=1)


class PairDiscriminator(nn.Module):
    """D(x, y) → one logit per pair, the released Triple-GAN MNIST discriminator's layout.

    noise(x) → [·, y] → dense(widths[0]) → for each further width: [·, y] → noise → [·, y] → dense …
    The first hidden layer's output is noised *after* the label is appended and the label is appended
    again, as the released code's layer list does (its "dis-4 … dis-6"); from the second hidden layer
    on the order is dense → noise → [·, y]. The last dense layer gives the logit.
    """

    def __init__(self, in_features: int, num_classes: int, widths: Sequence[int], input_noise: float,
                 hidden_noise: float, init_std: float = 0.1):
        super().__init__()
        self.concat = ConcatLabels(num_classes)
        self.input_noise = GaussianNoise(input_noise)
        self.hidden_noise = GaussianNoise(hidden_noise)
        k = num_classes
        sizes = [in_features + k, widths[0] + 2 * k, *[w + k for w in widths[1:]]]
        self.layers = nn.ModuleList(NormalisedLinear(n, w, init_std) for n, w in zip(sizes, widths))
        self.out = NormalisedLinear(widths[-1] + k, 1, init_std)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        h = self.concat(self.input_noise(x.flatten(1)), y)
        for index, layer in enumerate(self.layers):
            h = F.relu(layer(h))
            if index == 0:
                h = self.concat(self.hidden_noise(self.concat(h, y)), y)
            else:
                h = self.concat(self.hidden_noise(h), y)
        return self.out(h).flatten()


def triple_d_loss(data: Tensor, classified: Tensor, generated: Tensor, alpha: float) -> Tensor:
    """−U for D: −E_p log D − α E_{p_c} log(1 − D) − (1 − α) E_{p_g} log(1 − D), on D's logits."""
    return (F.softplus(-data).mean() + alpha * F.softplus(classified).mean()
            + (1 - alpha) * F.softplus(generated).mean())


def triple_g_loss(generated: Tensor, alpha: float) -> Tensor:
    """G's share, non-saturating as the released code: (1 − α) E_{p_g}[−log D(G(y, z), y)]."""
    return (1 - alpha) * F.softplus(-generated).mean()


def triple_c_adversarial_loss(classified: Tensor, confidence: Tensor, alpha: float) -> Tensor:
    """C's share under the argmax approximation: α E_x[p_c(ŷ|x) · (−log D(x, ŷ))].

    `classified` are D's logits on (x, ŷ) pairs, `confidence` is p_c(ŷ|x) (with C's gradient); D's
    verdict is a fixed weight here, so only `confidence` carries a gradient to C.
    """
    return alpha * (confidence * F.softplus(-classified).detach()).mean()
