"""Writers of small test files in the real formats, so the real loaders run on them.

IDX (MNIST), the `cifar-10-batches-py` pickles, image folders, torch-fidelity Inception weights
(randomly initialised) and a TorchScript pool3 detector (a small random network with the same
input/output contract). Numbers computed with these mean nothing; tests assert properties only.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import torch


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """IDX: magic 0x0000 0x08 <ndim>, big-endian uint32 dims, then the uint8 payload."""
    payload = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    payload += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)
    return path


def write_mnist_like(root: Path, folder: str = "MNIST", n_train: int = 256, n_test: int = 64, seed: int = 0) -> Path:
    """Digits-like blobs: class k is a bright square at a class-dependent position."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            r, c = 2 + 2 * (label % 5), 4 + 10 * (label // 5)
            images[i, r : r + 10, c : c + 10] = 230
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


def write_cifar10_like(root: Path, per_batch: int = 20, seed: int = 0) -> Path:
    """The real pickle layout: dicts with 'data' (N, 3072) uint8 rows (R, G, B planes) and 'labels'."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"batch_label": name, "labels": rng.integers(0, 10, per_batch).tolist(),
                 "data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
                 "filenames": [f"{name}_{i}.png" for i in range(per_batch)]}
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle, protocol=2)
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, handle)
    return root


def write_image_folder(root: Path, classes: int = 2, per_class: int = 6, size: int = 40, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in range(classes):
        folder = root / f"class_{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size + 8, 3)).astype(np.uint8)  # not square: exercises the crop
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def write_random_torch_fidelity_weights(path: Path, seed: int = 0) -> Path:
    """torch-fidelity's InceptionV3 state dict format, with random weights instead of the real ones."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class _Unloaded(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict=True, assign=False):  # keep the random init
            return None

    empty = path.with_suffix(".empty")
    torch.save({}, empty)
    torch.manual_seed(seed)
    model = _Unloaded("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    empty.unlink()
    # PyTorch's default init shrinks activations ~10x per layer over Inception's depth (features
    # ~1e-8); He init keeps them O(1), so the metric properties are tested on informative features.
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, std=module.in_features**-0.5)
    torch.save(model.state_dict(), path)
    return path


class _TinyPool3(torch.nn.Module):
    """The TorchScript detector's contract: (N, 3, 299, 299) in [-1, 1] -> (N, 2048) features."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 32, 7, stride=4)
        self.proj = torch.nn.Linear(32 * 4 * 4, 2048)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 4)
        return torch.relu(self.proj(x.flatten(1)))


def write_tiny_torchscript_detector(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice: the format is the contract
        torch.jit.save(torch.jit.script(_TinyPool3().eval()), str(path))
    return path


def write_unpaired(root: Path, name: str = "horse2zebra", train: int = 20, test: int = 6, size: int = 72,
                   seed: int = 0) -> Path:
    """The official CycleGAN layout, `<name>/{trainA,trainB,testA,testB}/*.jpg`; B is brighter than A."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("test", test)):
        for domain, (low, high) in (("A", (0, 128)), ("B", (128, 256))):
            folder = root / name / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = rng.integers(low, high, (size, size + 4, 3)).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"n{i:04d}.jpg", quality=90)
    return root


def write_celeba_like(root: Path, per_split: tuple[int, int, int] = (24, 4, 6), seed: int = 0) -> Path:
    """torchvision's CelebA layout: aligned 178x218 JPEGs and list_eval_partition.txt (0 train, 1 valid, 2 test)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = root / "celeba" / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    lines, index = [], 1
    for partition, count in enumerate(per_split):
        for _ in range(count):
            name = f"{index:06d}.jpg"
            Image.fromarray(rng.integers(0, 256, (218, 178, 3)).astype(np.uint8)).save(images / name, quality=90)
            lines.append(f"{name} {partition}")
            index += 1
    (root / "celeba" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return root
