"""CelebA (Liu et al. 2015) in torchvision's layout, at a small square resolution.

Files: `<root>/celeba/img_align_celeba/*.jpg` and `<root>/celeba/list_eval_partition.txt` (partition 0 =
train, 2 = test; 1, the validation set, is not used). Each aligned 178x218 face is centre-cropped to
178x178 and resized (antialiased), the crop of DCGAN-style CelebA pipelines.

Decoding 200k JPEGs takes minutes, so the resized split is cached as one .npy array beside the images
(`img_align_celeba_<split>_<res>px.npy`), written atomically, and read back in seconds afterwards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PARTITIONS = {"train": "0", "test": "2"}
CROP = 178


def _download(root: Path) -> None:
    import torchvision.datasets as tvd

    try:  # Google Drive quotas often refuse this; the caller then names the missing files
        tvd.CelebA(str(root), split="all", download=True)
    except Exception:
        return


def _partition(base: Path, split: str) -> list[str]:
    wanted = PARTITIONS[split]
    names = []
    for line in (base / "list_eval_partition.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == wanted:
            names.append(parts[0])
    return names


def load_celeba(root: Path, split: str, download: bool, resolution: int) -> tuple[np.ndarray, np.ndarray] | None:
    from PIL import Image

    from harness.storage import atomic_path

    base = root / "celeba"
    images_dir = base / "img_align_celeba"
    if not (images_dir.is_dir() and (base / "list_eval_partition.txt").is_file()) and download:
        _download(root)
    if not (images_dir.is_dir() and (base / "list_eval_partition.txt").is_file()):
        return None
    cached = base / f"img_align_celeba_{split}_{resolution}px.npy"
    names = _partition(base, split)
    if cached.is_file():
        images = np.load(cached)
        if len(images) == len(names):
            return images, np.zeros(len(images), dtype=np.int64)
    if not names:
        return None
    images = np.empty((len(names), 3, resolution, resolution), dtype=np.uint8)
    for i, name in enumerate(names):
        with Image.open(images_dir / name) as image:
            image = image.convert("RGB")
            left, top = (image.width - CROP) // 2, (image.height - CROP) // 2
            image = image.crop((left, top, left + CROP, top + CROP)).resize((resolution, resolution), Image.LANCZOS)
            images[i] = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)
    try:
        with atomic_path(cached) as temporary:
            with open(temporary, "wb") as handle:
                np.save(handle, images)
    except OSError:  # a read-only data root: no cache, decode again next time
        pass
    return images, np.zeros(len(images), dtype=np.int64)
