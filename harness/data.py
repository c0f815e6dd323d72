"""Datasets as whole uint8 tensors: MNIST, Fashion-MNIST, CIFAR-10, CelebA, any image folder, and
two-domain datasets (unpaired `trainA/ trainB/` folders, MNIST digits vs edges/negatives; see
`harness.two_domain`); and 2D point mixtures (ring8, grid25, …; see `harness.points`), a data kind
of their own: `DatasetInfo.kind` says which, `load_dataset` returns an ImageSet or a PointSet.

Every dataset here fits in memory, so it is read once into one (N, C, H, W) uint8 tensor and batched
on the training device (see `harness.batches`): no per-image PIL work in the training loop.

Files are read in their published formats (IDX, the `cifar-10-batches-py` pickles, image folders)
from a data root laid out like torchvision's (`<root>/MNIST/raw/…`, `<root>/cifar-10-batches-py/…`).
When they are missing, torchvision's own downloader fetches them into that root.
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import torch

from harness.errors import DataNotFoundError, GanBenchError
from harness.image_files import image_paths, read_square_images
from harness.points import POINTS_DATASETS, PointSet, load_points

Split = Literal["train", "test"]
DataKind = Literal["images", "points"]
DATA_ENV = "GAN_BENCH_DATA"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    channels: int
    resolution: int  # native side length; a reproduction may ask for another
    num_classes: int
    where: str  # where the files must be, relative to the data root, for the error message
    domains: tuple[str, ...] = ()  # a two-domain dataset's domain names; its labels are domain indices
    kind: DataKind = "images"  # "points": 2D points (N, 2), channels = 2 and resolution = 1
    metric: str = "fid"  # the metric suite that scores it (harness.metrics.suites)


@dataclass(frozen=True)
class ImageSet:
    """A split of a dataset held in memory: images (N, C, H, W) uint8 and labels (N,) int64."""

    info: DatasetInfo
    split: Split
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]


def data_root(given: str | os.PathLike | None = None) -> Path:
    """`--data-root`, else $GAN_BENCH_DATA, else ./data."""
    return Path(given or os.environ.get(DATA_ENV) or "data").expanduser()


# ---------------------------------------------------------------------------------------------- IDX
def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format), gzip-compressed or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # click would print a bare "Aborted!" for EOFError
        raise GanBenchError(f"{path}: damaged gzip file ({exc or 'truncated'}); delete it and download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:  # 0x08 = unsigned byte payload
        raise GanBenchError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).copy()  # writable, owned by torch later
    if body.size != int(np.prod(dims)):
        raise GanBenchError(f"{path}: truncated IDX file ({body.size} bytes of data for shape {dims})")
    return body.reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def _idx_loader(folder_name: str, torchvision_class: str) -> Callable[[Path, Split, bool], tuple]:
    def load(root: Path, split: Split, download: bool) -> tuple[np.ndarray, np.ndarray]:
        raw = root / folder_name / "raw"
        prefix = "train" if split == "train" else "t10k"
        stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        paths = [_find(raw, stem) for stem in stems]
        if None in paths and download:
            _torchvision_download(torchvision_class, root)
            paths = [_find(raw, stem) for stem in stems]
        if None in paths:
            return None
        images, labels = (read_idx(p) for p in paths)
        return images[:, None, :, :], labels

    return load


# ------------------------------------------------------------------------------------------ CIFAR-10
def _cifar10(root: Path, split: Split, download: bool) -> tuple[np.ndarray, np.ndarray] | None:
    folder = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    if not all((folder / n).exists() for n in names) and download:
        _torchvision_download("CIFAR10", root)
    if not all((folder / n).exists() for n in names):
        return None
    images, labels = [], []
    for name in names:
        with (folder / name).open("rb") as handle:
            # The official batches are Python pickles of plain dicts/arrays. We only ever read files at
            # the data root the user chose, which is how torchvision reads them too.
            batch = pickle.load(handle, encoding="latin1")
        try:
            images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch["labels"], dtype=np.int64))
        except (KeyError, ValueError, TypeError) as exc:
            raise GanBenchError(f"{folder / name}: not a CIFAR-10 batch ({exc})") from None
    return np.concatenate(images), np.concatenate(labels)


# -------------------------------------------------------------------------------------- image folder
def _image_folder(root: Path, split: Split, download: bool, resolution: int) -> tuple | None:
    """`root/<class>/<image>` (torchvision's ImageFolder layout); `root/train` and `root/test` if present."""
    folder = root / split if (root / split).is_dir() else root
    if not folder.is_dir():
        return None
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir())
    files = [(path, index) for index, name in enumerate(classes) for path in image_paths(folder / name)]
    if not files:
        return None
    images = read_square_images([path for path, _ in files], resolution)
    return images, np.array([label for _, label in files], dtype=np.int64)


def _torchvision_download(class_name: str, root: Path) -> None:
    """Fetch the official files with torchvision; any failure (offline, say) is left to the caller."""
    import torchvision.datasets as tvd

    cls = getattr(tvd, class_name)
    for train in (True, False):
        try:
            cls(str(root), train=train, download=True)
        except Exception:  # offline, a proxy, a mirror down: the caller reports the missing files
            return


# The official CycleGAN datasets we know how to fetch (harness.two_domain); any other unpaired folder
# goes under `unpaired/`.
OFFICIAL_UNPAIRED = ("horse2zebra", "apple2orange", "summer2winter_yosemite", "monet2photo")

DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", 1, 28, 10, "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", 1, 28, 10, "FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"
    ),
    "cifar10": DatasetInfo("cifar10", 3, 32, 10, "cifar-10-batches-py/{data_batch_1..5,test_batch}"),
    "imagefolder": DatasetInfo("imagefolder", 3, 64, 0, "<class>/<image>.png (the data root is the folder itself)"),
    "celeba": DatasetInfo("celeba", 3, 64, 0, "celeba/{img_align_celeba/*.jpg,list_eval_partition.txt}"),
    "mnist-edges": DatasetInfo("mnist-edges", 1, 28, 2, "MNIST/raw/... (as mnist)", ("digits", "edges")),
    "mnist-negative": DatasetInfo("mnist-negative", 1, 28, 2, "MNIST/raw/... (as mnist)", ("digits", "negative")),
    **{name: DatasetInfo(name, 3, 64, 2, f"{name}/{{trainA,trainB,testA,testB}}/*.jpg", ("A", "B"))
       for name in OFFICIAL_UNPAIRED},
    "unpaired": DatasetInfo("unpaired", 3, 64, 2, "unpaired/{trainA,trainB,testA,testB}/*.png", ("A", "B")),
    # Three MNIST digits as R, G, B (harness.stacked_mnist); labels are the 1,000 modes.
    **{name: DatasetInfo(name, 3, 28, 1000, "MNIST/raw/... (as mnist)", metric="stacked-modes")
       for name in ("stacked-mnist", "stacked-mnist-unrolled")},
    # Points: channels = the point dimension, resolution 1, classes = mixture modes; generated, no files.
    **{name: DatasetInfo(name, 2, 1, spec.mixture.num_modes, f"(generated: {spec.source})", kind="points",
                         metric="modes2d") for name, spec in POINTS_DATASETS.items()},
}
_LOADERS = {
    "mnist": _idx_loader("MNIST", "MNIST"),
    "fashion-mnist": _idx_loader("FashionMNIST", "FashionMNIST"),
    "cifar10": _cifar10,
}


def _sized_loader(name: str) -> Callable[[Path, Split, bool, int], tuple | None]:
    """Loaders that decode images (and so resize while decoding) or derive a dataset from another."""
    from harness import celeba, stacked_mnist, two_domain

    if name == "imagefolder":
        return _image_folder
    if name == "celeba":
        return celeba.load_celeba
    if name == "mnist-edges":
        return two_domain.mnist_pair_loader(_LOADERS["mnist"], two_domain.edges)
    if name == "mnist-negative":
        return two_domain.mnist_pair_loader(_LOADERS["mnist"], two_domain.negatives)
    if name in stacked_mnist.CONSTRUCTIONS:
        return stacked_mnist.stacked_loader(name, _LOADERS["mnist"])
    return two_domain.unpaired_loader(name, downloadable=name in OFFICIAL_UNPAIRED)


# Datasets other modules add (e.g. a derived image set with its own metric suite): name -> loader
# with the signature of `_sized_loader`'s loaders, (root, split, download, resolution) -> (images, labels).
_REGISTERED_LOADERS: dict[str, Callable[[Path, Split, bool, int], tuple | None]] = {}


def register_dataset(info: DatasetInfo, loader: Callable[[Path, Split, bool, int], tuple | None]) -> None:
    """Add an image dataset defined outside this file (its module must be imported before use)."""
    DATASETS[info.name] = info
    _REGISTERED_LOADERS[info.name] = loader


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise GanBenchError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


def load_images(
    name: str, split: Split = "train", root: Path | None = None, resolution: int | None = None, download: bool = True
) -> ImageSet:
    """Read a dataset split into memory at `resolution` (default: the dataset's own)."""
    info = dataset_info(name)
    root = data_root(root)
    size = resolution or info.resolution
    if info.kind != "images":
        raise GanBenchError(f"{name} is a {info.kind} dataset, not images")
    if name in _LOADERS:
        loaded = _LOADERS[name](root, split, download)
    elif name in _REGISTERED_LOADERS:
        loaded = _REGISTERED_LOADERS[name](root, split, download, size)
    else:
        loaded = _sized_loader(name)(root, split, download, size)
    if loaded is None:
        hint = "" if download else " (download disabled)"
        raise DataNotFoundError(
            f"{name} ({split}) not found under {root}{hint}: expected {root}/{info.where}; "
            f"pass --data-root or set {DATA_ENV}, or run once with internet to download it"
        )
    images, labels = loaded
    images = torch.from_numpy(np.ascontiguousarray(images))
    labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    if images.shape[-1] != size:
        images = resize_uint8(images, size)
    num_classes = info.num_classes or int(labels.max()) + 1
    info = dataclasses.replace(info, channels=images.shape[1], resolution=size, num_classes=num_classes)
    return ImageSet(info=info, split=split, images=images, labels=labels)


def load_dataset(
    name: str, split: Split = "train", root: Path | None = None, resolution: int | None = None, download: bool = True
) -> ImageSet | PointSet:
    """A split of any dataset: images through `load_images`, points generated by `harness.points`."""
    info = dataset_info(name)
    if info.kind == "points":
        return load_points(info, name, split)
    return load_images(name, split, root, resolution, download)


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 images once at load time (antialiased bilinear), so training sees a fixed tensor."""
    resized = torch.nn.functional.interpolate(
        images.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    return resized.round().clamp(0, 255).to(torch.uint8)
