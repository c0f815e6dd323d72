"""The semi-supervised protocol's score: the test-split classification error of the reproduction's classifier.

A semi-supervised run (`--labels N`, harness.labelled) is scored by the `semi-supervised` suite: the
reproduction's `classify` (the K real-class logits of a K+1 discriminator, CatGAN's D, Triple-GAN's
classifier) labels every image of the dataset's test split, under torch.no_grad() with every network
in eval mode (restored afterwards); the prediction is the argmax. Recorded: the error in percent
(`test_error`) and the number of errors (`test_errors`) out of the test set's size (10,000 on MNIST,
the count Salimans et al. 2016 Table 1 gives). The protocol names the split, its size and the label
count, so tables never mix label counts; it draws no samples, so it needs no seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from harness.batches import to_unit_range
from harness.reproduction import Reproduction, evaluating

CLASSIFY_BATCH = 500
SCORED_SPLIT = "test"


@dataclass(frozen=True)
class ClassificationProtocol:
    """How a test error is measured: comparable only when every field is equal."""

    dataset: str
    num_samples: int  # test images classified: the whole split
    labels: int  # labelled training examples the classifier was given
    split: str = SCORED_SPLIT
    metric: str = "semi-supervised"
    domain = None
    task = "generation"

    def to_dict(self) -> dict:
        return {"metric": self.metric, "dataset": self.dataset, "num_samples": self.num_samples,
                "split": self.split, "labels": self.labels}


def classification_error(predictions: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Percent wrong and number wrong of integer predictions (N,) against labels (N,)."""
    errors = int((predictions.cpu() != labels.cpu()).sum())
    return {"test_error": 100.0 * errors / len(labels), "test_errors": float(errors)}


def classifier_of(repro: Reproduction) -> Callable[[torch.Tensor], torch.Tensor]:
    """`repro.classify` as the harness calls it: no gradients, every network in eval mode, modes restored."""

    def classify(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), evaluating(*repro.networks().values()):
            return repro.classify(images)

    return classify


class ClassificationEvaluator:
    """Scores a classifier by its error on the whole of one split of the dataset."""

    def __init__(self, protocol: ClassificationProtocol, images: torch.Tensor, labels: torch.Tensor,
                 num_classes: int, device: torch.device):
        self.protocol, self.images, self.labels = protocol, images, labels
        self.num_classes, self.device = num_classes, device

    def score(self, classify: Callable[[torch.Tensor], torch.Tensor], seed: int = 0) -> dict[str, float]:
        predictions = []
        for start in range(0, len(self.images), CLASSIFY_BATCH):
            batch = to_unit_range(self.images[start : start + CLASSIFY_BATCH].to(self.device))
            logits = classify(batch)
            if tuple(logits.shape) != (len(batch), self.num_classes):
                raise ValueError(f"classify returned logits of shape {tuple(logits.shape)}; expected "
                                 f"({len(batch)}, {self.num_classes}): one logit per real class")
            if not bool(torch.isfinite(logits).all()):
                return {"test_error": math.nan, "test_errors": math.nan}
            predictions.append(logits.argmax(dim=1).cpu())
        return classification_error(torch.cat(predictions), self.labels)


def semi_supervised_scorers(repro, budget, extractor, device, data_root: Path | None, cache: Path | None,
                            train_set=None, num_samples=None):
    """The one scorer of a semi-supervised run (the `semi-supervised` suite's builder; see harness.scoring).
    `num_samples` (gan-bench evaluate --samples) does not apply: the whole split is always classified."""
    from harness.data import load_images
    from harness.scoring import Scorer

    data = repro.data
    test = load_images(data.name, SCORED_SPLIT, data_root, data.resolution)
    protocol = ClassificationProtocol(data.name, len(test), int(data.labels))
    evaluator = ClassificationEvaluator(protocol, test.images, test.labels, data.num_classes, device)
    return [Scorer(evaluator, classifier_of(repro))]
