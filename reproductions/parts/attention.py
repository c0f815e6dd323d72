"""Self-attention for GAN feature maps — Zhang, Goodfellow, Metaxas & Odena, "Self-Attention Generative
Adversarial Networks", ICML 2019 (arXiv 1805.08318), section 3, eqs. 1-3.

Written once and used by SAGAN (reproductions/sagan.py) and BigGAN (reproductions/biggan.py, which
inherits the block from SAGAN: Brock et al. 2019, section 3 and appendix B).

With x ∈ R^{C×N} the features of the previous layer (N = H·W locations):
- eq. 1: f(x) = W_f x, g(x) = W_g x, s_ij = f(x_i)ᵀ g(x_j), β_{j,i} = exp(s_ij) / Σ_i exp(s_ij):
  how much location i is attended to when synthesising location j (a softmax over i).
- eq. 2: o_j = v(Σ_i β_{j,i} h(x_i)), h(x_i) = W_h x_i, v(x_i) = W_v x_i. W_f, W_g, W_h ∈ R^{C̄×C},
  W_v ∈ R^{C×C̄}, all 1×1 convolutions; "we choose k = 8 (i.e., C̄ = C/8) in all our experiments".
- The released codes widen the value path: h has C/2 channels and v maps C/2 → C (brain-research
  non_local.py `sn_conv_g` / `sn_conv_attn`; BigGAN-PyTorch layers.py `Attention.g` / `.o`), while f
  and g keep C/8. That is the default here (`value_reduction` 2); eq. 2's C̄ for h is value_reduction 8.
- eq. 3: y_i = γ o_i + x_i, γ a learnable scalar "initialized as 0", so the network first relies on
  local cues and only gradually learns to use the non-local ones.
"""

from __future__ import annotations

import torch
from torch import nn


class SelfAttention(nn.Module):
    """y = γ·o + x (eqs. 1-3). Spectral normalisation, where a paper wants it, is applied by the
    caller (`reproductions.parts.regularizers.spectral_norm_all` reaches these 1×1 convolutions too)."""

    def __init__(self, channels: int, reduction: int = 8, value_reduction: int = 2):
        super().__init__()
        reduced = max(1, channels // reduction)  # C̄ = C/k, k = 8
        value_channels = max(1, channels // value_reduction)  # C/2 in both released codes
        self.f = nn.Conv2d(channels, reduced, 1, bias=False)  # keys
        self.g = nn.Conv2d(channels, reduced, 1, bias=False)  # queries
        self.h = nn.Conv2d(channels, value_channels, 1, bias=False)  # values
        self.v = nn.Conv2d(value_channels, channels, 1, bias=False)  # back to C channels
        self.gamma = nn.Parameter(torch.zeros(()))  # eq. 3: "γ is initialized as 0"

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """β of eq. 1, shape (B, N, N): row j is a distribution over the locations i."""
        keys, queries = self.f(x).flatten(2), self.g(x).flatten(2)  # (B, C̄, N)
        s = torch.bmm(queries.transpose(1, 2), keys)  # s[b, j, i] = g(x_j)ᵀ f(x_i) = s_ij
        return torch.softmax(s, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        beta = self.attention_map(x)
        values = self.h(x).flatten(2)  # (B, C/2, N)
        attended = torch.bmm(values, beta.transpose(1, 2))  # [:, :, j] = Σ_i β_{j,i} h(x_i)
        o = self.v(attended.view(batch, -1, height, width))  # eq. 2
        return self.gamma * o + x  # eq. 3
