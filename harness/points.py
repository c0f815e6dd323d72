"""2D mixtures of Gaussians, the mode-collapse benchmarks of VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2017), as a data kind of their own: points, not images.

Both papers use the same two mixtures (PacGAN states it follows VEEGAN's setup):
- ring: 8 isotropic Gaussians with means evenly spaced on the unit circle, std 0.01;
- grid: 25 isotropic Gaussians with means on {-4, -2, 0, 2, 4}^2, std 0.05.
They differ in where the training points come from, so each setup is its own dataset:
- `ring8`, `grid25` (VEEGAN): every batch is a fresh draw from the mixture (the VEEGAN notebook
  samples `sample_mog(batch_size)` anew at each update); there is no fixed training set.
- `ring8-pacgan`, `grid25-pacgan` (PacGAN): one fixed training set of 100,000 points, shuffled into
  epochs (fjxmlzn/PacGAN synthetic_data_experiments/2D{Ring,Grid}_GAN&PacGAN/config.py:
  `num_sample: 100000`, `num_epoch: 400`, `batch_size: 100`).

A points set is `PointSet` (points float32 (N, 2) in the mixture's own coordinates, labels = the
mode each point was drawn from); fresh-draw datasets batch through `FreshPoints`, which has the
`DeviceBatches` interface (next / state_dict / load_state_dict) so the trainer cannot tell them apart.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from harness.batches import Batch

FIXED_SET_SEED = 0  # the fixed PacGAN-style training set is one draw, the same for every run


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic 2D Gaussians (every paper here uses equal priors)."""

    means: tuple[tuple[float, float], ...]
    std: float

    @property
    def num_modes(self) -> int:
        return len(self.means)

    def centers(self, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.tensor(self.means, dtype=torch.float32, device=device)

    def draw(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """`n` points (n, 2) and the mode index each came from: a uniform mode, then its Gaussian."""
        modes = torch.randint(self.num_modes, (n,), generator=generator, device=device)
        noise = torch.randn(n, 2, generator=generator, device=device)
        return self.centers(device)[modes] + self.std * noise, modes


def ring_means(modes: int, radius: float) -> tuple[tuple[float, float], ...]:
    # PacGAN config.py: [cos(id * 2pi / 8), sin(id * 2pi / 8)] for id in range(8). The VEEGAN notebook
    # lists the same eight points (radius 1, angles k * 45 degrees) starting from another angle; the
    # set of modes, and so every metric, is the same.
    return tuple((radius * math.cos(2 * math.pi * k / modes), radius * math.sin(2 * math.pi * k / modes))
                 for k in range(modes))


def grid_means(side: int, spacing: float) -> tuple[tuple[float, float], ...]:
    # PacGAN config.py: itertools.product(range(-4, 5, 2), range(-4, 5, 2)), i.e. side 5, spacing 2.
    half = (side - 1) / 2
    coords = [(i - half) * spacing for i in range(side)]
    return tuple((float(x), float(y)) for x, y in itertools.product(coords, coords))


# std: PacGAN config.py VARIANCES = 0.01**2 (ring) and 0.05**2 (grid) times the identity; VEEGAN's
# notebook draws the ring with std 0.01 at radius 1 and the grid with std 0.05 at spacing 2.
RING8 = Mixture(ring_means(8, radius=1.0), std=0.01)
GRID25 = Mixture(grid_means(5, spacing=2.0), std=0.05)


@dataclass(frozen=True)
class PointsDataset:
    mixture: Mixture
    train_size: int | None  # None: fresh draws from the mixture for every batch
    source: str  # where the setup comes from, for `gan-bench datasets` and the docs


POINTS_DATASETS: dict[str, PointsDataset] = {
    "ring8": PointsDataset(RING8, None, "VEEGAN (Srivastava et al. 2017): fresh draws per batch"),
    "grid25": PointsDataset(GRID25, None, "VEEGAN (Srivastava et al. 2017): fresh draws per batch"),
    "ring8-pacgan": PointsDataset(RING8, 100_000, "PacGAN (Lin et al. 2017): a fixed set of 100,000 points"),
    "grid25-pacgan": PointsDataset(GRID25, 100_000, "PacGAN (Lin et al. 2017): a fixed set of 100,000 points"),
}


def points_dataset(name: str) -> PointsDataset:
    return POINTS_DATASETS[name]


@dataclass(frozen=True)
class PointSet:
    """A split of a points dataset: points (N, 2) float32 and labels (N,) int64 (the mode drawn from).

    A fresh-draw dataset has no fixed points: `points` is empty and batches come from the mixture.
    """

    info: object  # harness.data.DatasetInfo (not imported: data.py imports this module)
    split: str
    points: torch.Tensor
    labels: torch.Tensor
    mixture: Mixture

    @property
    def fresh_draws(self) -> bool:
        return len(self.points) == 0

    def __len__(self) -> int:
        return self.points.shape[0]


def load_points(info, name: str, split: str) -> PointSet:
    """The dataset's fixed set (one seeded draw; the test split is a second, independent draw), or an
    empty set for a fresh-draw dataset."""
    spec = points_dataset(name)
    if spec.train_size is None:
        empty = torch.empty(0, 2)
        return PointSet(info, split, empty, torch.empty(0, dtype=torch.long), spec.mixture)
    generator = torch.Generator().manual_seed(FIXED_SET_SEED + (0 if split == "train" else 1))
    points, labels = spec.mixture.draw(spec.train_size, generator)
    return PointSet(info, split, points, labels, spec.mixture)


class FreshPoints:
    """Endless batches drawn anew from the mixture, from a seeded generator that is checkpointed."""

    epoch = 0  # there are no epochs over fresh draws

    def __init__(self, mixture: Mixture, batch_size: int, device: torch.device, seed: int):
        self.mixture = mixture
        self.batch_size = batch_size
        self.device = device
        # Drawn on the CPU and moved: the same stream on every device, so a CUDA run sees the CPU run's data.
        self._generator = torch.Generator().manual_seed(seed)

    def next(self) -> Batch:
        points, modes = self.mixture.draw(self.batch_size, self._generator)
        return Batch(images=points.to(self.device), labels=modes.to(self.device))

    def state_dict(self) -> dict:
        return {"generator": self._generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self._generator.set_state(state["generator"])
