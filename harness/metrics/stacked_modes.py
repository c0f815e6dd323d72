"""Mode coverage on Stacked MNIST: the number of the 1,000 modes hit, and KL(p_gen ‖ uniform).

The definitions of VEEGAN (Srivastava et al. 2017, section 5.2, Table 2) and PacGAN (Lin et al. 2017,
section 4.2, Tables 2–3), as PacGAN's released code computes them (fjxmlzn/PacGAN
`stacked_MNIST_experiments/*/model.py`, `log_metrics`):

- each generated image's three channels are classified separately by a pretrained MNIST classifier
  (here gan-bench's own, `harness.metrics.mnist_classifier`); its mode is 100·R + 10·G + B;
- *modes* counts the modes with at least one sample;
- *KL* is KL(p ‖ uniform over 1,000) of the histogram p of the samples' modes, natural log:
  sum_i p_i log(1000 · p_i). Samples spread evenly over all modes give 0; one mode gives log 1000.

Sample counts (the budget's `eval_samples`, recorded in the protocol): 26,000 in the VEEGAN setup
(VEEGAN_experiment/config.py `num_test_sample`), 25,600 in the Unrolled GAN setup (its config.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from harness.batches import to_uint8
from harness.metrics.modes2d import GenerationProtocol, SampledEvaluator
from harness.metrics.mnist_classifier import (MIN_TEST_ACCURACY, ClassifierSpec, ClassifierTraining, MnistCNN,
                                              mnist_classifier, predict_digits)
from harness.stacked_mnist import NUM_MODES, mode_of

# The classifier every score uses; tests swap in a tiny budget (its spec is recorded either way).
CLASSIFIER_TRAINING = ClassifierTraining()
CLASSIFIER_MIN_ACCURACY = MIN_TEST_ACCURACY


@dataclass(frozen=True)
class StackedModes:
    modes: int
    kl: float
    counts: tuple[int, ...]  # samples per mode, 1,000 entries

    def metrics(self) -> dict[str, float]:
        return {"modes": float(self.modes), "kl": self.kl}


def stacked_modes(modes: torch.Tensor, num_modes: int = NUM_MODES) -> StackedModes:
    """Modes hit and KL to uniform of a set of mode numbers (N,) in 0..num_modes-1."""
    counts = torch.bincount(modes.long(), minlength=num_modes)
    p = counts[counts > 0].double() / len(modes)
    kl = float((p * torch.log(p * num_modes)).sum())
    return StackedModes(int((counts > 0).sum()), kl, tuple(int(c) for c in counts))


def image_modes(classifier: MnistCNN, images: torch.Tensor) -> torch.Tensor:
    """Mode numbers (N,) of uint8 stacked images (N, 3, 28, 28): each channel classified on its own."""
    digits = [predict_digits(classifier, images[:, c : c + 1]) for c in range(3)]
    return torch.from_numpy(mode_of(torch.stack(digits, dim=1).numpy()))


@dataclass(frozen=True)
class StackedModesProtocol(GenerationProtocol):
    """How a Stacked MNIST mode count is measured; counts are comparable only when every field is equal."""

    classifier: ClassifierSpec
    num_modes: int = NUM_MODES
    metric: str = "stacked-modes"

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "num_samples": self.num_samples, "num_modes": self.num_modes,
                "metric": self.metric, "classifier": self.classifier.to_dict()}


class StackedModesEvaluator(SampledEvaluator):
    """Scores a sampler of stacked images in [-1, 1] by the modes its samples hit."""

    def __init__(self, protocol: StackedModesProtocol, classifier: MnistCNN, device: torch.device):
        super().__init__(protocol, device)
        self.classifier = classifier

    def modes(self, sample: Callable[[int, torch.Generator], torch.Tensor], seed: int) -> torch.Tensor:
        return self.draw(sample, seed, lambda images: image_modes(self.classifier, to_uint8(images).cpu()))

    def score(self, sample: Callable[[int, torch.Generator], torch.Tensor], seed: int) -> dict[str, float]:
        return stacked_modes(self.modes(sample, seed), self.protocol.num_modes).metrics()


def stacked_modes_scorers(repro, budget, extractor, device, data_root: Path | None, cache: Path | None,
                          train_set=None, num_samples=None):
    """The one scorer of a Stacked MNIST run (the `stacked-modes` suite's builder; see harness.scoring)."""
    from harness.metrics.evaluate import cache_dir
    from harness.scoring import Scorer, class_sampler

    spec, classifier = mnist_classifier(cache_dir(cache), data_root, CLASSIFIER_TRAINING, CLASSIFIER_MIN_ACCURACY)
    protocol = StackedModesProtocol(repro.data.name, num_samples or budget.eval_samples, spec)
    return [Scorer(StackedModesEvaluator(protocol, classifier, device), class_sampler(repro))]
