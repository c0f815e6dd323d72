"""The feature extractors FID/KID/IS are computed with, and what a result must say about them.

Two kinds, both plugged into torch-fidelity so the metric code stays torch-fidelity's:

- `torch-fidelity`: torch-fidelity's own InceptionV3 (`inception-v3-compat`, a port of the 2015-12-05
  TensorFlow graph) with pool3 features and logits, so it gives FID, KID *and* IS. Weights come from
  $GAN_BENCH_INCEPTION_WEIGHTS, or torch-fidelity's release download.
- `torchscript`: a TorchScript pool3 detector loaded from a path, e.g. NVIDIA's
  `inception-2015-12-05.pt` (the StyleGAN2-ADA / clean-fid detector). FID and KID only: it has no
  logits. Path from $GAN_BENCH_TORCHSCRIPT_INCEPTION.

Numbers from different extractors are not comparable, so every result records the kind, the weights'
sha256 and whether they are the known official file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch

from harness.errors import GanBenchError

ExtractorKind = Literal["torch-fidelity", "torchscript"]
EXTRACTOR_KINDS = ("auto", "torch-fidelity", "torchscript")
INCEPTION_WEIGHTS_ENV = "GAN_BENCH_INCEPTION_WEIGHTS"
TORCHSCRIPT_ENV = "GAN_BENCH_TORCHSCRIPT_INCEPTION"

TORCH_FIDELITY_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
# torch.hub names files with the first 8 hex digits of their sha256; the release file is 6726825d….
TORCH_FIDELITY_SHA256_PREFIX = "6726825d"
TORCHSCRIPT_FEATURE_EXTRACTOR = "gan-bench-torchscript-pool3"


@dataclass(frozen=True)
class ExtractorSpec:
    """Which extractor a score was computed with: enough to tell whether two scores are comparable."""

    kind: ExtractorKind
    weights_path: str
    weights_sha256: str
    official_weights: bool  # sha256 matches the published file; otherwise the numbers are not the literature's
    provides_is: bool

    @property
    def label(self) -> str:
        tag = "" if self.official_weights else ", unverified weights"
        return f"{self.kind} ({self.weights_sha256[:8]}{tag})"

    def to_dict(self) -> dict:
        return {**asdict(self), "label": self.label}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_extractor(kind: str = "auto", weights: str | os.PathLike | None = None) -> ExtractorSpec:
    """Decide the extractor and make sure its weights are on disk — before any training starts.

    `auto`: an explicit torch-fidelity weights file, else an explicit TorchScript detector, else
    torch-fidelity's download.
    """
    if kind not in EXTRACTOR_KINDS:
        raise GanBenchError(f"unknown extractor {kind!r}; choose one of {', '.join(EXTRACTOR_KINDS)}")
    if kind == "auto":
        if weights is not None:
            raise GanBenchError("--extractor-weights needs --extractor torch-fidelity or torchscript")
        if os.environ.get(INCEPTION_WEIGHTS_ENV):
            kind = "torch-fidelity"
        elif os.environ.get(TORCHSCRIPT_ENV):
            kind = "torchscript"
        else:
            kind = "torch-fidelity"

    if kind == "torchscript":
        given = weights or os.environ.get(TORCHSCRIPT_ENV)
        if not given:
            raise GanBenchError(f"the torchscript extractor needs a detector file: --extractor-weights or {TORCHSCRIPT_ENV}")
        path = _existing(Path(given), "TorchScript Inception detector")
        return ExtractorSpec("torchscript", str(path), sha256_of(path), official_weights=False, provides_is=False)

    given = weights or os.environ.get(INCEPTION_WEIGHTS_ENV)
    path = _existing(Path(given), "torch-fidelity Inception weights") if given else _download_torch_fidelity_weights()
    sha = sha256_of(path)
    return ExtractorSpec("torch-fidelity", str(path), sha, sha.startswith(TORCH_FIDELITY_SHA256_PREFIX), provides_is=True)


def _existing(path: Path, what: str) -> Path:
    path = path.expanduser()
    if not path.is_file():
        raise GanBenchError(f"{what} not found at {path}")
    return path.resolve()


def _download_torch_fidelity_weights() -> Path:
    target = Path(torch.hub.get_dir()) / "checkpoints" / Path(TORCH_FIDELITY_URL).name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(TORCH_FIDELITY_URL, str(target), hash_prefix=TORCH_FIDELITY_SHA256_PREFIX, progress=False)
        except Exception as exc:  # offline, proxy, bad hash: one line that says how to proceed
            raise GanBenchError(
                f"cannot download torch-fidelity's Inception weights ({type(exc).__name__}: {exc}); "
                f"set {INCEPTION_WEIGHTS_ENV} to weights-inception-2015-12-05-6726825d.pth, "
                f"or {TORCHSCRIPT_ENV} to a TorchScript pool3 detector, or pass --no-eval"
            ) from None
    return target


def build_extractor(spec: ExtractorSpec, device: torch.device):
    """A torch-fidelity FeatureExtractorBase for `spec`, on `device`, with the layers FID/KID/IS need."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    if spec.kind == "torchscript":
        from harness.metrics.torchscript_inception import TorchScriptPool3

        TorchScriptPool3.register(TORCHSCRIPT_FEATURE_EXTRACTOR)
        extractor = TorchScriptPool3(TORCHSCRIPT_FEATURE_EXTRACTOR, ["2048"], feature_extractor_weights_path=spec.weights_path)
    else:
        _check_plain_tensors(Path(spec.weights_path))
        extractor = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=spec.weights_path
        )
    return extractor.to(device).eval()


def _check_plain_tensors(path: Path) -> None:
    """torch-fidelity unpickles its weights with weights_only=False; refuse files that are not plain tensors."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GanBenchError(f"{path}: not a plain state dict of tensors ({type(exc).__name__}); refusing to load it") from None


FID_LAYER = "2048"
IS_LAYER = "logits_unbiased"
