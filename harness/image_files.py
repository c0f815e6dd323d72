"""Decoding image files into one uint8 array: the shared step of every folder-based dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def image_paths(folder: Path) -> list[Path]:
    """The image files directly inside `folder`, sorted by name (a stable order for every run)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_square_images(paths: list[Path], resolution: int) -> np.ndarray:
    """(N, 3, r, r) uint8: each image as RGB, shorter side resized to r, centre-cropped to a square."""
    from PIL import Image
    from torchvision.transforms import functional as TF

    images = np.empty((len(paths), 3, resolution, resolution), dtype=np.uint8)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            image = TF.center_crop(TF.resize(image.convert("RGB"), resolution), [resolution, resolution])
            images[i] = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)
    return images
