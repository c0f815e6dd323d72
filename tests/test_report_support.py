"""Synthetic run directories and registry entries for the report tests (helpers only, no tests here).

The runs are written with harness.runstore's own writers (RunDir.write_config / write_result / log)
and carry the fields harness/experiment.py writes, so the report reads them exactly as it reads a
real run — without training anything. Tests that need a real run use the `dcgan_smoke_run` fixture.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PIL import Image

from harness.budget import resolve_budget
from harness.runstore import RunDir

SHA = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
TORCHSCRIPT = {"kind": "torchscript", "label": f"torchscript ({SHA[:8]}, unverified weights)", "official_weights": False,
               "provides_is": False, "weights_path": "/data/inception/pool3.pt", "weights_sha256": SHA}
TORCH_FIDELITY = {"kind": "torch-fidelity", "label": "torch-fidelity (6726825d)", "official_weights": True,
                  "provides_is": True, "weights_path": "/data/inception/pt_inception.pth", "weights_sha256": "6726825d" + "0" * 56}

# A registry entry whose every text field tries to run script; the report must show it as text.
XSS_TITLE = "<script>window.__pwned = 1</script>Escaping GAN <img src=x onerror=\"window.__pwned = 2\">"
XSS_YAML = """\
id: xss-gan
title: '<script>window.__pwned = 1</script>Escaping GAN <img src=x onerror="window.__pwned = 2">'
authors: ["Mallory <b>Bold</b>"]
year: 2020
category: loss
reproduction:
  module: reproductions.xss_gan
  datasets: [mnist]
  reported:
    - {dataset: mnist, metric: fid, value: 100.0, std: 1.5, num_samples: 64,
       source: "<script>window.__pwned = 3</script> Table 1"}
    - {dataset: mnist, metric: kid, value: 0.05, num_samples: 50000, source: "Table 2, 50k samples"}
"""


def write_registry(folder: Path) -> Path:
    """A registry folder (for GAN_BENCH_REGISTRY) holding the script-title paper."""
    (folder / "papers").mkdir(parents=True, exist_ok=True)
    (folder / "papers" / "xss-gan.yaml").write_text(XSS_YAML, encoding="utf-8")
    return folder


def write_run(root: Path, paper: str, seed: int = 0, *, dataset: str = "mnist", budget: str = "smoke",
              metrics: dict | None = None, extra_scores: list[tuple[int, dict]] = (), status: str = "finished",
              eval_samples: int | None = None, extractor: dict | None = TORCHSCRIPT, name: str | None = None,
              finished: bool = True, kimg: float = 0.32, wall_clock_s: float = 20.0, variant: str | None = None,
              overrides: dict | None = None, version: int | None = 1, g_steps: int | None = None) -> Path:
    """One run directory as `gan-bench run` leaves it.

    `variant`, `overrides` (hyperparameters set apart from the defaults) and `version` are its method
    identity; `version=None` writes a run from before identities were recorded (no identity fields).

    `metrics` is the score under the budget's protocol; `extra_scores` adds (num_samples, metrics)
    scores as `gan-bench evaluate --samples` would. `finished=False` writes no result.json (running).
    """
    changes = {k: v for k, v in {"eval_samples": eval_samples, "g_steps": g_steps}.items() if v}
    spec = resolve_budget(budget, None, changes)
    row = paper + (f"@{variant}" if variant else "")
    run = RunDir(Path(root) / row / dataset / spec.name / (name or f"{seed}-20260101T000000Z-{seed:04x}"))
    run.path.mkdir(parents=True)
    identity = {} if version is None else {"version": version, "overrides": dict(overrides or {}), "budget_changes": changes}
    identity.update({"variant": variant} if variant else {})
    config = {
        "paper": paper, **identity, "module": f"reproductions.{paper.replace('-', '_')}", "dataset": dataset, "seed": seed,
        "resolution": 28, "channels": 1, "num_classes": 10, "hyperparameters": {"lr": 0.0002, "z_dim": 100, **(overrides or {})},
        "budget": spec.to_dict(), "d_steps_per_g_step": 1, "device": "cpu", "data_root": None,
        "extractor": extractor, "acceleration": {"amp": "off", "channels_last": False, "compile": False},
    }
    run.write_config(config)
    steps = [5, 10, 15, 20]
    for step in steps:
        run.log({"kind": "loss", "g_step": step, "kimg": step * spec.batch_size / 1000, "loss_d": 1.0 / step + seed,
                 "loss_g": 2.0 - step / 20, "d_accuracy": 0.5 + step / 100, "wall_clock_s": step * 1.0})
    Image.new("L", (8 * 10, 8 * 10), color=40 + 20 * seed).save(run.samples_path)
    if not finished:
        return run.path
    scores = []
    if metrics is not None and status == "finished":
        run.log({"kind": "metric", "g_step": steps[-1], "kimg": kimg, "eval_seconds": 1.0, **metrics})
        scores.append(_score(dataset, spec.eval_samples, spec, extractor, metrics))
    for num_samples, more in extra_scores:
        scores.append(_score(dataset, num_samples, spec, extractor, more))
    run.write_result({
        "paper": paper, **identity, "dataset": dataset, "seed": seed, "budget": spec.to_dict(), "status": status,
        "stop_reason": "g_steps", "divergence": {"reason": "non-finite loss_d", "g_step": 10} if status == "diverged" else None,
        "progress": {"g_steps": 20, "d_steps": 20, "images_seen": int(kimg * 1000), "kimg": kimg, "wall_clock_s": wall_clock_s},
        "scores": scores,
        "provenance": {"git": {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False},
                       "packages": {"python": "3.11.7", "torch": "2.4.0", "torchvision": "0.19.0", "torch-fidelity": "0.4.0",
                                    "numpy": "2.0.0", "gan-bench": "0.1.0"},
                       "device": {"type": "cpu", "name": "x86_64", "threads": 2}, "platform": "Linux-test"},
        "resumed": False, "finished_at": "2026-01-01T00:00:30+00:00",
    })
    return run.path


def _score(dataset: str, num_samples: int, spec, extractor: dict, metrics: dict) -> dict:
    protocol = {"dataset": dataset, "resolution": 28, "num_samples": num_samples, "real_split": spec.real_split,
                "real_samples": spec.real_samples, "extractor": extractor, "kid_subsets": 100,
                "kid_subset_size": min(1000, num_samples, spec.real_samples), "is_splits": 10}
    return {"protocol": protocol, "metrics": dict(metrics), "g_step": 20, "eval_seconds": 1.0,
            "evaluated_at": "2026-01-01T00:00:30+00:00"}


def budget_dict(name: str) -> dict:
    return dataclasses.asdict(resolve_budget(name))


def standard_runs(root: Path) -> Path:
    """The runs most report tests share: three DCGAN seeds with known numbers, one GAN seed, a
    diverged WGAN, a running LSGAN seed, the script-title paper, and a 1k-sample re-score."""
    write_run(root, "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.010, "kid_std": 0.001})
    write_run(root, "dcgan", 1, metrics={"fid": 12.0, "kid_mean": 0.020, "kid_std": 0.001},
              extra_scores=[(1000, {"fid": 9.0, "kid_mean": 0.005, "kid_std": 0.001})])
    write_run(root, "dcgan", 2, metrics={"fid": 14.0, "kid_mean": 0.030, "kid_std": 0.001})
    write_run(root, "gan", 0, metrics={"fid": 30.0, "kid_mean": 0.008, "kid_std": 0.002})
    write_run(root, "wgan", 0, status="diverged", kimg=0.16, wall_clock_s=9.0)
    write_run(root, "lsgan", 0, finished=False)
    write_run(root, "xss-gan", 0, metrics={"fid": 50.0, "kid_mean": 0.040, "kid_std": 0.002})
    return root
