"""Training throughput: gan-bench's loop against a plain loop written like pytorch/examples' dcgan.

Both train the *same* networks (built by our reproduction module, same seed, same batch) on
CIFAR-10-shaped data in one process. The reference reads batches the usual way — torchvision's
CIFAR10 dataset (PIL image per item, ToTensor, Normalize) through a DataLoader with 2 workers — and
calls `.item()` on its losses every step, as pytorch/examples does to print them. Ours holds the
dataset as one uint8 tensor on the device and syncs only when it logs.

    python benchmarks/train_throughput.py --device cpu                 # DCGAN
    python benchmarks/train_throughput.py --device cpu --paper wgan-gp # n_critic 5 + gradient penalty
    python benchmarks/train_throughput.py --device cuda --amp bf16 --channels-last --compile  # ours sped up

The speed switches (harness.acceleration, as `gan-bench run` takes them) apply to ours only: the
reference stays the plain loop, so the ratio says what the switches buy on top of the harness.

Uses real CIFAR-10 from --data-root / $GAN_BENCH_DATA when present, else random images written in
the real `cifar-10-batches-py` format. Last line (parseable):
    train_throughput paper=<id> amp=<off|bf16> channels_last=<0|1> compile=<0|1> ours_img_s=<n> reference_img_s=<n> ratio=<ours/reference>
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.acceleration import Acceleration  # noqa: E402
from harness.batches import DeviceBatches  # noqa: E402
from harness.budget import NAMED_BUDGETS  # noqa: E402
from harness.data import data_root, load_images  # noqa: E402
from harness.experiment import configure, instantiate, pick_device  # noqa: E402
from harness.registry import load_registry  # noqa: E402
from harness.reproduction import DataSpec  # noqa: E402
from harness.trainer import Trainer  # noqa: E402


def cifar_root(given: str | None) -> Path:
    root = data_root(given)
    if (root / "cifar-10-batches-py" / "data_batch_1").exists():
        return root
    from tests.fixtures import write_cifar10_like

    fixture = Path(tempfile.mkdtemp(prefix="cifar-like-"))
    print(f"no CIFAR-10 under {root}: using random images in the cifar-10-batches-py format ({fixture})")
    return write_cifar10_like(fixture, per_batch=2000)


def build(paper: str, device: torch.device, seed: int = 0):
    torch.manual_seed(seed)
    cls, hp, resolution = configure(load_registry().get(paper), "cifar10")
    return instantiate(cls, hp, DataSpec("cifar10", 3, resolution, 10), device, paper)


# ------------------------------------------------------------------------------------------------ ours
def ours(paper: str, root: Path, device: torch.device, batch: int, steps: int,
         acceleration: Acceleration = Acceleration()) -> float:
    repro = build(paper, device)
    acceleration.apply(repro)
    data = load_images("cifar10", "train", root)
    batches = DeviceBatches(data, batch, device, seed=0, memory_format=acceleration.memory_format)
    budget = dataclasses.replace(NAMED_BUDGETS["smoke"], g_steps=3, batch_size=batch, log_every=10**9)
    Trainer(repro, batches, budget, acceleration=acceleration).run()  # warm-up: allocator, cuDNN, compile
    trainer = Trainer(repro, batches, dataclasses.replace(budget, g_steps=steps), acceleration=acceleration)
    _sync(device)
    started = time.perf_counter()
    outcome = trainer.run()
    _sync(device)
    images = outcome.progress.images_seen
    return images / (time.perf_counter() - started)


# ------------------------------------------------------------------------------------------- reference
def reference(paper: str, root: Path, device: torch.device, batch: int, steps: int) -> float:
    import torchvision.transforms as T
    from torchvision.datasets import CIFAR10

    repro = build(paper, device)  # the same networks and optimisers, used the plain way
    G, D, opt_G, opt_D = repro.G, repro.D, repro.opt_G, repro.opt_D
    z_dim = repro.hp.z_dim
    dataset = CIFAR10.__new__(CIFAR10)  # torchvision's class and __getitem__, minus its md5 check
    train = load_images("cifar10", "train", root)
    dataset.data = train.images.permute(0, 2, 3, 1).numpy()
    dataset.targets = train.labels.tolist()
    dataset.transform = T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    dataset.target_transform = None
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=2, drop_last=True,
                                         persistent_workers=True)
    n_critic = repro.d_steps(10**6)

    def batches():
        while True:
            yield from loader

    stream = batches()

    def step() -> int:
        shown = 0
        for _ in range(n_critic):
            real = next(stream)[0].to(device)
            shown += real.shape[0]
            fake = G(torch.randn(real.shape[0], z_dim, device=device)).detach()
            if paper == "wgan-gp":
                eps = torch.rand(real.shape[0], 1, 1, 1, device=device)
                mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
                (grad,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
                loss_d = D(fake).mean() - D(real).mean() + 10 * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            else:
                out_real, out_fake = D(real), D(fake)
                loss_d = F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real)) + \
                    F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake))
            opt_D.zero_grad()
            loss_d.backward()
            opt_D.step()
        out = D(G(torch.randn(batch, z_dim, device=device)))
        loss_g = -out.mean() if paper == "wgan-gp" else F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        opt_G.zero_grad()
        loss_g.backward()
        opt_G.step()
        loss_d.item(), loss_g.item()  # pytorch/examples prints both every iteration
        return shown

    for _ in range(3):
        step()
    _sync(device)
    started = time.perf_counter()
    images = sum(step() for _ in range(steps))
    _sync(device)
    return images / (time.perf_counter() - started)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper", default="dcgan", choices=["dcgan", "wgan-gp"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None, help="timed G steps per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="ours/reference pairs, alternated; medians reported")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--amp", default="off", choices=["off", "bf16"], help="ours: bf16 autocast")
    parser.add_argument("--channels-last", action="store_true", help="ours: NHWC networks and batches")
    parser.add_argument("--compile", action="store_true", help="ours: torch.compile of each network")
    args = parser.parse_args()
    device = pick_device(args.device)
    acceleration = Acceleration(amp=args.amp, channels_last=args.channels_last, compile=args.compile)
    steps = args.steps or (200 if device.type == "cuda" else (20 if args.paper == "dcgan" else 6))
    root = cifar_root(args.data_root)
    ours_runs, reference_runs = [], []
    for _ in range(args.repeats):
        ours_runs.append(ours(args.paper, root, device, args.batch, steps, acceleration))
        reference_runs.append(reference(args.paper, root, device, args.batch, steps))
        print(f"  ours {ours_runs[-1]:.1f} img/s, reference {reference_runs[-1]:.1f} img/s")
    a, b = statistics.median(ours_runs), statistics.median(reference_runs)
    print(f"device={device} threads={torch.get_num_threads()} batch={args.batch} steps={steps} repeats={args.repeats}")
    switches = f"amp={args.amp} channels_last={int(args.channels_last)} compile={int(args.compile)}"
    print(f"train_throughput paper={args.paper} {switches} ours_img_s={a:.1f} reference_img_s={b:.1f} ratio={a / b:.2f}")


if __name__ == "__main__":
    main()
