"""The MNIST digit classifier that Stacked MNIST mode counts are read with — trained by gan-bench itself.

Architecture: Caffe's LeNet (examples/mnist/lenet.prototxt): conv 5x5x20 → max-pool 2 → conv 5x5x50 →
max-pool 2 → fc 500 → ReLU → fc 10, on images scaled to [0, 1]. PacGAN's released code reads its Stacked
MNIST tables with a bigger Keras CNN (fjxmlzn/PacGAN `stacked_MNIST_experiments/*/train_mnist.py`:
conv32-conv64-fc128, 20 epochs of Adadelta); both are ≥ 99% accurate, and LeNet costs a fifth of the CPU
time per epoch, which is what lets a missing classifier be trained in minutes on one CPU thread.
Training: Adam (lr 1e-3, halved after every epoch), batch 128, 5 epochs of the 60,000 train digits.

Nothing is downloaded: a missing classifier is trained once (seeded, deterministic on one thread) on the
MNIST train split at the data root, scored on the test split, and cached under the sha256 of its
weights, as a feature extractor is identified by its weights' sha256. Every score records the
`ClassifierSpec` — architecture, training settings, weights sha256 and test accuracy — and a classifier
under `MIN_TEST_ACCURACY` is refused rather than cached.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from harness.data import load_images
from harness.errors import GanBenchError
from harness.storage import atomic_torch_save, atomic_write_json

ARCHITECTURE = "lenet-caffe"  # conv20-pool-conv50-pool-fc500-fc10
MIN_TEST_ACCURACY = 0.99


class MnistCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),  # 28 -> 24 -> 12 -> 8 -> 4
            nn.Flatten(), nn.Linear(50 * 4 * 4, 500), nn.ReLU(), nn.Linear(500, 10),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 digits (N, 1, 28, 28) -> logits (N, 10)."""
        return self.net(images.float() / 255.0)


@dataclass(frozen=True)
class ClassifierTraining:
    """How the classifier is trained; the cache is keyed by these and by the MNIST files."""

    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3  # halved after every epoch
    seed: int = 0
    train_images: int | None = None  # None: all 60,000; tests train on a few hundred

    @property
    def key(self) -> str:
        subset = "" if self.train_images is None else f"-n{self.train_images}"
        return f"{ARCHITECTURE}-e{self.epochs}-b{self.batch_size}-lr{self.lr:g}-seed{self.seed}{subset}"


@dataclass(frozen=True)
class ClassifierSpec:
    """Which classifier a mode count was read with: enough to tell whether two counts are comparable."""

    architecture: str
    weights_path: str
    weights_sha256: str
    test_accuracy: float  # on the 10,000 MNIST test images
    training: dict
    train_seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def _train(training: ClassifierTraining, train_set, say: Callable[[str], None]) -> MnistCNN:
    images, labels = train_set.images, train_set.labels
    if training.train_images is not None:
        images, labels = images[: training.train_images], labels[: training.train_images]
    torch.manual_seed(training.seed)  # the initial weights
    model = MnistCNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=training.lr)
    schedule = torch.optim.lr_scheduler.StepLR(optimiser, step_size=1, gamma=0.5)
    shuffle = torch.Generator().manual_seed(training.seed)
    steps_per_epoch = -(-len(images) // training.batch_size)
    model.train()
    for epoch in range(training.epochs):
        order = torch.randperm(len(images), generator=shuffle)
        for step, start in enumerate(range(0, len(images), training.batch_size)):
            chosen = order[start : start + training.batch_size]
            loss = nn.functional.cross_entropy(model(images[chosen]), labels[chosen])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if step % 100 == 0 or step == steps_per_epoch - 1:
                say(f"mnist classifier: epoch {epoch + 1}/{training.epochs} step {step + 1}/{steps_per_epoch} "
                    f"loss {loss.item():.4f}")
        schedule.step()
    return model.eval()


def weights_sha256(model: nn.Module) -> str:
    """sha256 of the weights themselves (names, dtypes, shapes, values): the same for the same weights,
    whatever file they were saved in."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def predict_digits(model: MnistCNN, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Digit labels (N,) of uint8 digits (N, 1, 28, 28)."""
    model.eval()
    return torch.cat([model(images[i : i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)])


def accuracy(model: MnistCNN, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict_digits(model, images) == labels).double().mean())


def _load(index: Path) -> tuple[ClassifierSpec, MnistCNN] | None:
    """The cached classifier behind `index`, if its weights file still has the recorded sha256."""
    try:
        spec = ClassifierSpec(**json.loads(index.read_text()))
        model = MnistCNN()
        model.load_state_dict(torch.load(spec.weights_path, map_location="cpu", weights_only=True))
    except Exception:  # missing or damaged: retrained, never trusted
        return None
    if weights_sha256(model) != spec.weights_sha256:
        return None
    return spec, model.eval()


def mnist_classifier(cache: Path, data_root: Path | None = None, training: ClassifierTraining = ClassifierTraining(),
                     min_accuracy: float = MIN_TEST_ACCURACY,
                     say: Callable[[str], None] = print) -> tuple[ClassifierSpec, MnistCNN]:
    """The cached classifier for `training` on the MNIST at `data_root`; trained now if missing."""
    from harness.stacked_mnist import mnist_fingerprint

    train_set = load_images("mnist", "train", data_root)
    test_set = load_images("mnist", "test", data_root)
    folder = cache / "mnist-classifier"
    index = folder / f"{training.key}-mnist{mnist_fingerprint(train_set.images.numpy(), train_set.labels.numpy())}.json"
    if index.exists() and (cached := _load(index)) is not None:
        return cached
    say(f"mnist classifier: none cached at {index}; training it once ({training.key})")
    started = time.perf_counter()
    model = _train(training, train_set, say)
    seconds = time.perf_counter() - started
    test_accuracy = accuracy(model, test_set.images, test_set.labels)
    say(f"mnist classifier: test accuracy {test_accuracy:.4%} after {seconds:.0f} s")
    if test_accuracy < min_accuracy:
        raise GanBenchError(f"the trained MNIST classifier reaches {test_accuracy:.2%} test accuracy, "
                            f"under the {min_accuracy:.0%} a mode count needs; not cached")
    sha = weights_sha256(model)
    weights = folder / f"{sha}.pt"
    atomic_torch_save(model.state_dict(), weights)
    spec = ClassifierSpec(ARCHITECTURE, str(weights), sha, test_accuracy, asdict(training), round(seconds, 1))
    atomic_write_json(index, spec.to_dict())
    return spec, model
