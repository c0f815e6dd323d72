"""Stacked MNIST: three MNIST digits stacked as the R, G and B channels of one 28x28 image (1,000 modes).

Each channel is an MNIST image drawn uniformly at random, with replacement and independently of the
other two channels, from a pool of MNIST images; the image's mode is the three-digit number
100·label(R) + 10·label(G) + label(B). The mode-collapse papers build it in two ways, and each is its own
named dataset here (read from fjxmlzn/PacGAN `stacked_MNIST_experiments/`, the PacGAN authors' code
for both setups):

- `stacked-mnist` — VEEGAN (Srivastava et al. 2017, section 5.2) and PacGAN Table 2: a fixed training
  set of 128,000 stacked images whose channels come from the 70,000 MNIST train + test images
  (`VEEGAN_experiment/model.py`, `load_mnist`; `num_training_sample: 128000` in its config.py).
- `stacked-mnist-unrolled` — Unrolled GAN (Metz et al. 2016, section 3.3) and PacGAN Table 3: channels
  from the 60,000 MNIST train images (`unrolled_GAN_experiment/*/model.py`, `generate_stacked_mnist`).
  That code draws a fresh stacked batch every step; we pre-draw a fixed set of 128,000 (see
  `FRESH_DRAWS_NOTE`), since the harness trains from one in-memory tensor.

The draws are seeded (`np.random.default_rng(seed)`), so a construction is a pure function of the
MNIST files and `StackedConstruction`; it is cached as .npy under the cache dir, keyed by both.
The test split (no paper uses one) is 10,000 images drawn the same way from the 10,000 MNIST test
images, with its own seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from harness.storage import atomic_path

NUM_MODES = 1000
CHANNELS = 3
FRESH_DRAWS_NOTE = ("the Unrolled GAN setup draws a fresh stacked batch every step; we pre-draw a fixed "
                    "set of 128,000 stacked images from the same 60,000 train images")


@dataclass(frozen=True)
class StackedConstruction:
    """How one split of a Stacked MNIST dataset is drawn."""

    pool: tuple[str, ...]  # the MNIST splits the channels are drawn from ("train", "test")
    count: int  # stacked images in the split
    seed: int

    @property
    def key(self) -> str:
        return f"{'+'.join(self.pool)}-{self.count}-seed{self.seed}"


CONSTRUCTIONS: dict[str, dict[str, StackedConstruction]] = {
    "stacked-mnist": {
        "train": StackedConstruction(("train", "test"), 128_000, seed=0),
        "test": StackedConstruction(("test",), 10_000, seed=1),
    },
    "stacked-mnist-unrolled": {
        "train": StackedConstruction(("train",), 128_000, seed=0),
        "test": StackedConstruction(("test",), 10_000, seed=1),
    },
}


def mode_of(digits: np.ndarray) -> np.ndarray:
    """(N, 3) digit labels (R, G, B) -> (N,) mode numbers 0..999."""
    digits = np.asarray(digits, dtype=np.int64)
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def stack(images: np.ndarray, labels: np.ndarray, construction: StackedConstruction) -> tuple[np.ndarray, np.ndarray]:
    """Draw `construction.count` stacked images from the pool (N, 1, 28, 28) uint8 with digit labels (N,)."""
    rng = np.random.default_rng(construction.seed)
    picks = rng.integers(0, len(images), size=(construction.count, CHANNELS))  # uniform, with replacement
    stacked = images[picks, 0]  # (count, 3, 28, 28): channel c of image i is pool image picks[i, c]
    return np.ascontiguousarray(stacked), mode_of(labels[picks])


def mnist_fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """Which MNIST files a construction came from: a cached set is never reused for other files."""
    digest = hashlib.sha256(images.tobytes())
    digest.update(labels.astype(np.uint8).tobytes())
    return digest.hexdigest()[:16]


def _cached(path: Path, build: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = path.with_suffix(".images.npy"), path.with_suffix(".modes.npy")
    if images_path.exists() and labels_path.exists():
        try:
            return np.load(images_path), np.load(labels_path)
        except (OSError, ValueError):  # a damaged entry is rebuilt, never trusted
            pass
    images, modes = build()
    for target, array in ((labels_path, modes), (images_path, images)):  # images last: present = complete
        with atomic_path(target) as tmp:
            with tmp.open("wb") as handle:
                np.save(handle, array)
    return images, modes


def stacked_loader(name: str, mnist_loader: Callable[[Path, str, bool], tuple | None]):
    """A `harness.data` loader for the Stacked MNIST dataset `name`, reading MNIST with `mnist_loader`."""

    def load(root: Path, split: str, download: bool, resolution: int) -> tuple[np.ndarray, np.ndarray] | None:
        from harness.metrics.evaluate import cache_dir

        construction = CONSTRUCTIONS[name][split]
        parts = [mnist_loader(root, pool_split, download) for pool_split in construction.pool]
        if any(part is None for part in parts):
            return None
        pool_images = np.concatenate([images for images, _ in parts])
        pool_labels = np.concatenate([labels for _, labels in parts])
        path = cache_dir() / "stacked-mnist" / f"{construction.key}-mnist{mnist_fingerprint(pool_images, pool_labels)}"
        return _cached(path, lambda: stack(pool_images, pool_labels, construction))

    return load
