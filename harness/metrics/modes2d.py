"""Mode coverage of a 2D mixture: modes captured, % high-quality samples, reverse KL to uniform.

The definitions of VEEGAN (Srivastava et al. 2017, section 5.1, Table 1) and PacGAN (Lin et al.
2017, section 4.1, Table 1), as PacGAN's released code computes them (fjxmlzn/PacGAN,
synthetic_data_experiments/PacGAN/pacgan/extensions.py, `MetricLogger`, `dis_thre=3`):

- each sample is assigned to its nearest mode, distance measured in units of the mode's std;
- it is *high quality* when that distance is below 3 std (strictly: 2.9 counts, 3.1 does not);
- *modes* counts the modes with at least one high-quality sample;
- *% high quality* is the share of all samples that are high quality, in percent;
- *reverse KL* is KL(p ‖ uniform) of the histogram p of high-quality samples over the modes,
  natural log: sum_i p_i log(p_i · K). All mass on one mode gives log K; an even spread gives 0.
  With no high-quality sample there is no histogram, and the KL is recorded as None.

Both papers score 2,500 samples (PacGAN's config.py `num_log_figure_sample: 2500`; VEEGAN section 5.1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import torch

from harness.points import Mixture, points_dataset

HIGH_QUALITY_STD = 3.0  # PacGAN extensions.py: MetricLogger(dis_thre=3)
SAMPLE_BATCH = 500


@dataclass(frozen=True)
class ModeCoverage:
    modes: int
    high_quality: float  # percent of all samples
    reverse_kl: float | None
    counts: tuple[int, ...]  # high-quality samples per mode

    def metrics(self) -> dict[str, float | None]:
        return {"modes": float(self.modes), "high_quality": self.high_quality, "reverse_kl": self.reverse_kl}


def mode_coverage(points: torch.Tensor, centers: torch.Tensor, std: float,
                  threshold_std: float = HIGH_QUALITY_STD) -> ModeCoverage:
    """The three numbers for samples `points` (N, 2) of a mixture with means `centers` (K, 2), equal std."""
    # Float64: a sample placed 2.9 or 3.1 std away must land on the side of 3 that it is on.
    distances = torch.cdist(points.double(), centers.double()) / std
    nearest_distance, nearest = distances.min(dim=1)
    high_quality = nearest_distance < threshold_std
    counts = torch.bincount(nearest[high_quality], minlength=len(centers))
    total = int(counts.sum())
    reverse_kl = None
    if total:
        p = counts[counts > 0].double() / total
        reverse_kl = float((p * torch.log(p * len(centers))).sum())
    return ModeCoverage(int((counts > 0).sum()), 100.0 * total / len(points), reverse_kl,
                        tuple(int(c) for c in counts))


@dataclass(frozen=True)
class GenerationProtocol:
    """What every mode-count protocol names first, and what scoring's callers ask every protocol: mode
    counts are never per domain or a translation."""

    dataset: str
    num_samples: int
    domain = None
    task = "generation"


@dataclass(frozen=True)
class ModesProtocol(GenerationProtocol):
    """How a mode-coverage score is measured; scores are comparable only when every field is equal."""

    num_modes: int
    mode_std: float
    threshold_std: float = HIGH_QUALITY_STD
    metric: str = "modes2d"

    def to_dict(self) -> dict:
        return asdict(self)


Sampler = Callable[[int, torch.Generator], torch.Tensor]


class SampledEvaluator:
    """An evaluator that draws `protocol.num_samples` from a sampler, in batches of SAMPLE_BATCH."""

    def __init__(self, protocol, device: torch.device):
        self.protocol = protocol
        self.device = device

    def draw(self, sample: Sampler, seed: int, each: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The samples from one generator seeded with `seed` (a score never depends on the global random
        state), each batch mapped by `each` (to the CPU, to mode numbers) before the next is drawn."""
        generator = torch.Generator(device=self.device).manual_seed(seed)
        n = self.protocol.num_samples
        return torch.cat([each(sample(min(SAMPLE_BATCH, n - start), generator)) for start in range(0, n, SAMPLE_BATCH)])


class ModesEvaluator(SampledEvaluator):
    """Scores a sampler of 2D points against its dataset's mixture."""

    def __init__(self, protocol: ModesProtocol, mixture: Mixture, device: torch.device):
        super().__init__(protocol, device)
        self.mixture = mixture

    def samples(self, sample: Sampler, seed: int) -> torch.Tensor:
        return self.draw(sample, seed, lambda x: x.float().cpu())

    def score(self, sample: Callable[[int, torch.Generator], torch.Tensor], seed: int) -> dict[str, float | None]:
        points = self.samples(sample, seed)
        if not bool(torch.isfinite(points).all()):
            return {"modes": math.nan, "high_quality": math.nan, "reverse_kl": math.nan}
        coverage = mode_coverage(points, self.mixture.centers(), self.mixture.std, self.protocol.threshold_std)
        return coverage.metrics()


def modes2d_scorers(repro, budget, extractor, device, data_root, cache, train_set=None, num_samples=None):
    """The one scorer of a points run (the `modes2d` suite's builder; see harness.scoring.build_scorers)."""
    from harness.scoring import Scorer, class_sampler

    mixture = points_dataset(repro.data.name).mixture
    protocol = ModesProtocol(repro.data.name, num_samples or budget.eval_samples, mixture.num_modes, mixture.std)
    return [Scorer(ModesEvaluator(protocol, mixture, device), class_sampler(repro))]
