"""Equalised learning rate — Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs" (ICLR 2018,
arXiv 1710.10196), section 4.1, as used throughout StyleGAN (Karras et al. 2019, appendix C).

"We use a trivial N(0, 1) initialization and then explicitly scale the weights at runtime":
ŵ_i = w_i / c with c the per-layer He constant, here written as w · gain/√fan_in. Adam's updates are
scale-free, so every layer then learns at the same effective speed whatever its fan-in.

StyleGAN's mapping network adds a learning-rate multiplier λ (appendix C: "we reduce the learning rate
by two orders of magnitude for the mapping network, i.e., λ' = 0.01·λ"): the stored weights are
initialised N(0, 1/λ_mul²) and multiplied at runtime by λ_mul·gain/√fan_in (biases by λ_mul). The
effective weights start the same, but every Adam step on the stored values moves them λ_mul times
less — the same as a λ_mul times smaller learning rate for those layers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EqualizedLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = math.sqrt(2),
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_multiplier)) if bias else None
        self.weight_gain = lr_multiplier * gain / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.bias_gain
        return F.linear(x, self.weight * self.weight_gain, bias)


class EqualizedConv2d(nn.Module):
    """A same-padded convolution whose kernel is scaled at runtime by gain/√(c_in·k·k)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 gain: float = math.sqrt(2), lr_multiplier: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) / lr_multiplier)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = lr_multiplier * gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.bias_gain = lr_multiplier
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.bias_gain
        return F.conv2d(x, self.weight * self.weight_gain, bias, padding=self.padding)
