"""Evaluation cost: FID/KID(/IS) of N generated samples, cold and warm real-data cache, against
torch-fidelity's `calculate_metrics` called directly the usual way (generator wrapped in
`GenerativeModelModuleWrapper`, the real split as input2, no cache).

All three use the same extractor (by default the one gan-bench would pick: $GAN_BENCH_INCEPTION_WEIGHTS,
else $GAN_BENCH_TORCHSCRIPT_INCEPTION, else torch-fidelity's download) and the same DCGAN generator
(untrained: speed does not depend on the weights).

    python benchmarks/eval_speed.py --device cpu --samples 1000

Last line (parseable):  eval_speed cold_s=<n> warm_s=<n> torch_fidelity_s=<n>
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.batches import to_uint8  # noqa: E402
from harness.data import load_images  # noqa: E402
from harness.experiment import configure, instantiate, pick_device  # noqa: E402
from harness.metrics.evaluate import Evaluator, Protocol  # noqa: E402
from harness.metrics.extractors import TORCHSCRIPT_FEATURE_EXTRACTOR, resolve_extractor  # noqa: E402
from harness.registry import load_registry  # noqa: E402
from harness.reproduction import DataSpec  # noqa: E402


class RealImages(torch.utils.data.Dataset):
    """input2 for torch-fidelity: uint8 (3, H, W) tensors, as its registered datasets yield."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.images[index]
        return image.expand(3, -1, -1).contiguous() if image.shape[0] == 1 else image


class UInt8Generator(torch.nn.Module):
    """torch-fidelity feeds a generator's output straight to the extractor, which takes uint8 RGB."""

    def __init__(self, generator: torch.nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        images = to_uint8(self.generator(z))
        return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--extractor", default="auto")
    parser.add_argument("--extractor-weights", default=None)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    device = pick_device(args.device)
    spec = resolve_extractor(args.extractor, args.extractor_weights)
    train = load_images(args.dataset, "train", args.data_root)
    torch.manual_seed(0)
    cls, hp, resolution = configure(load_registry().get("dcgan"), args.dataset)
    repro = instantiate(cls, hp, DataSpec(args.dataset, train.info.channels, resolution, 10), device, "dcgan")
    protocol = Protocol(args.dataset, resolution, args.samples, "train", args.samples, spec)

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return repro.sample(n, generator=generator)

    with tempfile.TemporaryDirectory() as cache:
        timings = {}
        for state in ("cold", "warm"):
            evaluator = Evaluator(protocol, device, args.data_root, Path(cache), batch_size=args.batch, real=train)
            started = time.perf_counter()
            metrics = evaluator.score(sample, seed=0)
            timings[state] = time.perf_counter() - started
            print(f"  gan-bench {state}: {timings[state]:.1f} s (real cache hit: {evaluator.real_cache_hit}) {metrics}")

    import torch_fidelity

    if spec.kind == "torchscript":
        from harness.metrics.torchscript_inception import TorchScriptPool3

        TorchScriptPool3.register(TORCHSCRIPT_FEATURE_EXTRACTOR)
        extractor_name = TORCHSCRIPT_FEATURE_EXTRACTOR
    else:
        extractor_name = "inception-v3-compat"
    subset = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[: args.samples]
    repro.G.eval()
    started = time.perf_counter()
    direct = torch_fidelity.calculate_metrics(
        input1=torch_fidelity.GenerativeModelModuleWrapper(UInt8Generator(repro.G), hp.z_dim, "normal", 0),
        input1_model_num_samples=args.samples, input2=RealImages(train.images[subset]),
        fid=True, kid=True, isc=spec.provides_is, kid_subset_size=min(1000, args.samples),
        feature_extractor=extractor_name, feature_extractor_weights_path=spec.weights_path,
        batch_size=args.batch, cuda=device.type == "cuda", cache=False, verbose=False,
    )
    timings["torch_fidelity"] = time.perf_counter() - started
    print(f"  torch-fidelity direct: {timings['torch_fidelity']:.1f} s {direct}")
    print(f"device={device} samples={args.samples} extractor={spec.label}")
    print(f"eval_speed cold_s={timings['cold']:.1f} warm_s={timings['warm']:.1f} "
          f"torch_fidelity_s={timings['torch_fidelity']:.1f}")


if __name__ == "__main__":
    main()
