"""Two-domain datasets: unpaired image folders (CycleGAN) and MNIST-derived pairs of domains (CoGAN).

A two-domain dataset is one `ImageSet` whose labels are domain indices (0 = A, 1 = B); its
`DatasetInfo.domains` names the domains. The training batches then hold the same number of images of
each domain (`harness.batches.DeviceBatches`), and scoring is per domain.

- Unpaired folders, the layout of the official CycleGAN datasets: `<root>/<name>/{trainA,trainB,testA,testB}/`.
  With internet, a missing official dataset is fetched from the authors' server as the official
  `download_cyclegan_dataset.sh` does.
- CoGAN's digit experiments (Liu & Tuzel 2016, section 5): MNIST digits (domain 0) against their edge
  images or their negatives (domain 1). The two domains come from disjoint random halves of the split,
  so the model never sees a digit together with its own edge image — a joint distribution learned
  without correspondence, as the paper requires.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from harness.image_files import image_paths, read_square_images

CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
DOMAIN_SPLIT_SEED = 0  # which half of MNIST becomes which domain: fixed, so every run sees the same halves


def _download_unpaired(name: str, root: Path) -> None:
    from torchvision.datasets.utils import download_and_extract_archive

    try:
        download_and_extract_archive(CYCLEGAN_URL.format(name=name), download_root=str(root), extract_root=str(root))
    except Exception:  # offline or the server is down: the caller names the missing folders
        return


def unpaired_loader(folder_name: str, downloadable: bool):
    """Loader for `<root>/<folder_name>/{train,test}{A,B}/`: images of A (label 0) then B (label 1)."""

    def load(root: Path, split: str, download: bool, resolution: int) -> tuple[np.ndarray, np.ndarray] | None:
        base = root / folder_name
        folders = [base / f"{split}A", base / f"{split}B"]
        if not all(f.is_dir() for f in folders) and download and downloadable:
            _download_unpaired(folder_name, root)
        if not all(f.is_dir() for f in folders):
            return None
        domains = [read_square_images(image_paths(f), resolution) for f in folders]
        if not all(len(d) for d in domains):
            return None
        labels = np.concatenate([np.full(len(d), index, dtype=np.int64) for index, d in enumerate(domains)])
        return np.concatenate(domains), labels

    return load


# ------------------------------------------------------------------------------- MNIST-derived pairs
def edges(images: torch.Tensor) -> torch.Tensor:
    """Edge images of uint8 digits (N, 1, H, W): a 3x3 morphological dilation minus the digit.

    The same outer gradient as the authors' data preparation (prepare_mnist.edge.cogan.py): thin
    strokes around each digit, as in the paper's Figure 2.
    """
    x = images.float()
    dilated = torch.nn.functional.max_pool2d(x, 3, stride=1, padding=1)
    return (dilated - x).clamp_(0, 255).to(torch.uint8)


def negatives(images: torch.Tensor) -> torch.Tensor:
    return 255 - images


def mnist_pair_loader(mnist_loader, transform):
    """MNIST (read by `mnist_loader`) split into two disjoint random halves: digits (label 0) and
    transform(digits) (label 1)."""

    def load(root: Path, split: str, download: bool, resolution: int) -> tuple[np.ndarray, np.ndarray] | None:
        loaded = mnist_loader(root, split, download)
        if loaded is None:
            return None
        digits = torch.from_numpy(np.ascontiguousarray(loaded[0]))
        order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(DOMAIN_SPLIT_SEED))
        half = len(digits) // 2
        domain_a, domain_b = digits[order[:half]], transform(digits[order[half : 2 * half]])
        labels = np.concatenate([np.zeros(half, dtype=np.int64), np.ones(half, dtype=np.int64)])
        return torch.cat([domain_a, domain_b]).numpy(), labels

    return load
