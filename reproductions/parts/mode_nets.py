"""Networks of the mode-collapse experiments (2D mixtures and Stacked MNIST), shared by Unrolled GAN,
VEEGAN, PacGAN and ALI/BiGAN. Only architecture lives here; each paper's objective lives in its module.

- `mlp`: the fully connected nets of the 2D experiments. Their sizes are each paper's (set per dataset in
  the registry): Metz et al.'s notebook (poolio/unrolled_gan) 2x128 tanh; VEEGAN's notebook 2x128 ReLU;
  PacGAN's and ALI's code (fjxmlzn/PacGAN synthetic_data_experiments) 4x400 BN-ReLU generators.
- `MaxoutMLP`: the maxout discriminators of ALI's / PacGAN's 2D code (3 maxout layers of 200 units x 5).
- `SmallDCGenerator` / `SmallDCDiscriminator`: the Stacked MNIST nets of Metz et al. (appendix, the
  "D is 1/4 (or 1/2) the size of G" experiment), as in PacGAN's port
  (stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G/model.py).
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import nn

from reproductions.parts.blocks import Maxout

Activation = Literal["relu", "tanh", "leaky_relu"]
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def mlp(in_features: int, hidden: int, layers: int, out_features: int, activation: Activation = "relu",
        batchnorm: bool = False, bn_momentum: float = 0.1) -> nn.Sequential:
    """`layers` hidden layers of `hidden` units, then a linear output. With batchnorm, hidden layers are
    Linear (no bias, as in ALI's bricks) -> BN -> activation; `bn_momentum` is the weight of a batch's
    statistics in the running ones (ALI's / PacGAN's code: 0.05)."""
    modules: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        modules.append(nn.Linear(width, hidden, bias=not batchnorm))
        if batchnorm:
            modules.append(nn.BatchNorm1d(hidden, momentum=bn_momentum))
        modules.append(_ACTIVATIONS[activation]())
        width = hidden
    modules.append(nn.Linear(width, out_features))
    return nn.Sequential(*modules)


class MaxoutMLP(nn.Sequential):
    """`layers` maxout layers of `units` x `pieces`, then one logit (ALI's / PacGAN's 2D discriminator)."""

    def __init__(self, in_features: int, units: int, pieces: int, layers: int):
        modules: list[nn.Module] = [Maxout(in_features if i == 0 else units, units, pieces) for i in range(layers)]
        super().__init__(*modules, nn.Linear(units, 1))


Init = Literal["normal", "orthogonal", "xavier", "default"]


def initialise(net: nn.Module, scheme: Init, scale: float) -> None:
    """The papers' initialisers for Linear/Conv weights (biases 0; BN left at scale 1, shift 0).

    normal: N(0, scale) (ALI/PacGAN's IsotropicGaussian(0.02); the DCGAN-TF ops' 0.02);
    orthogonal: gain `scale` (Metz et al.'s notebook: tf.orthogonal_initializer(gain=1.4));
    xavier: Glorot uniform (tf.contrib.slim's default, VEEGAN's notebook); default: PyTorch's own.
    """
    if scheme == "default":
        return
    for module in net.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            if scheme == "normal":
                nn.init.normal_(module.weight, 0.0, scale)
            elif scheme == "orthogonal":
                nn.init.orthogonal_(module.weight, gain=scale)
            elif scheme == "xavier":
                nn.init.xavier_uniform_(module.weight)
            else:
                raise ValueError(f"unknown init scheme {scheme!r}")
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def initialise_on(device: torch.device, scheme: Init, scale: float, *nets: nn.Module) -> None:
    """`initialise` each net in turn (the papers' draw order), then move it to `device`."""
    for net in nets:
        initialise(net, scheme, scale)
        net.to(device)


def adams(lrs: Sequence[float], betas: tuple[float, float], *nets: nn.Module, eps: float = 1e-8) -> list[torch.optim.Adam]:
    """One Adam per net, net i at learning rate lrs[i], all with the same betas and eps (the 2D papers'
    setup: each network its own optimiser)."""
    return [torch.optim.Adam(net.parameters(), lr=lr, betas=betas, eps=eps) for lr, net in zip(lrs, nets, strict=True)]


class SmallDCGenerator(nn.Module):
    """Metz et al.'s Stacked MNIST G: z -> 4x4x64 -> 7x7x32 -> 14x14x16 -> 28x28x8 (3x3 deconvs, BN,
    ReLU) -> 3x3 conv to `channels` -> tanh."""

    def __init__(self, z_dim: int, channels: int, width: int = 8):
        super().__init__()
        self.width = width
        self.project = nn.Linear(z_dim, 4 * 4 * 8 * width)
        self.net = nn.Sequential(
            nn.BatchNorm2d(8 * width), nn.ReLU(),
            nn.ConvTranspose2d(8 * width, 4 * width, 3, 2, 1), nn.BatchNorm2d(4 * width), nn.ReLU(),  # 4 -> 7
            nn.ConvTranspose2d(4 * width, 2 * width, 3, 2, 1, output_padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 3, 2, 1, output_padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(z.shape[0], 8 * self.width, 4, 4))


class SmallDCDiscriminator(nn.Module):
    """Metz et al.'s Stacked MNIST D: three 3x3 stride-2 convs (widths w, 2w, 4w; w = 2 for "D is 1/4
    of G", 4 for 1/2), each BN -> LeakyReLU(0.3) (BN on the first layer too, as in the port), then a
    linear logit. `in_channels` is 3 x the packing degree for PacGAN."""

    def __init__(self, in_channels: int, width: int = 2, slope: float = 0.3):
        super().__init__()
        widths = (width, 2 * width, 4 * width)
        layers: list[nn.Module] = []
        for c_in, c_out in zip((in_channels,) + widths[:-1], widths):
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(slope)]
        self.net = nn.Sequential(*layers)  # 28 -> 14 -> 7 -> 4
        self.logit = nn.Linear(4 * 4 * widths[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.net(x).flatten(1)).flatten()
