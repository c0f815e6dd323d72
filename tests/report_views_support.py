"""Run directories and a registry entry whose reported numbers get each verdict of the reproduction
view: within, outside, not comparable (sample counts differ), not run (no run on that dataset).
Helpers only, shared by tests/test_report_site.py and tests/test_report_views_browser.py."""

from __future__ import annotations

from pathlib import Path

from tests.test_report_support import TORCH_FIDELITY, write_registry, write_run

# At the `paper` budget (50,000 samples against 50,000 train images) with torch-fidelity's official
# weights, so the protocol matches the entry's 50,000-sample numbers.
VERDICT_YAML = """\
id: verdict-gan
title: A GAN Whose Numbers Get Every Verdict
authors: [Ada Lovelace, Charles Babbage, Mary Somerville]
year: 2019
category: loss
aliases: [VerdictGAN]
arxiv: "1901.00001"
code: ["https://github.com/example/verdict-gan"]
reproduction:
  module: reproductions.verdict_gan
  datasets: [mnist, fashion-mnist]
  reported:
    - {dataset: mnist, metric: fid, value: 20.0, std: 3.0, num_samples: 50000, source: "Lovelace et al. 2019, Table 4, MNIST FID"}
    - {dataset: mnist, metric: kid, value: 0.5, std: 0.01, num_samples: 50000, source: "Lovelace et al. 2019, Table 5, MNIST KID"}
    - {dataset: mnist, metric: is, value: 9.0, std: 0.1, num_samples: 10000, source: "Lovelace et al. 2019, Table 6, MNIST IS at 10k"}
    - {dataset: fashion-mnist, metric: fid, value: 30.0, std: 1.0, num_samples: 50000, source: "Lovelace et al. 2019, Table 4, Fashion FID"}
"""
SOURCES = ("Lovelace et al. 2019, Table 4, MNIST FID", "Lovelace et al. 2019, Table 5, MNIST KID",
           "Lovelace et al. 2019, Table 6, MNIST IS at 10k", "Lovelace et al. 2019, Table 4, Fashion FID")


def write_verdict_registry(folder: Path) -> Path:
    write_registry(folder)
    (folder / "papers" / "verdict-gan.yaml").write_text(VERDICT_YAML, encoding="utf-8")
    return folder


def verdict_runs(root: Path) -> Path:
    """Three seeds of verdict-gan at the paper budget: FID 20, 21, 22 (inside 20 ± 3), KID far from 0.5."""
    for seed, fid in enumerate((20.0, 21.0, 22.0)):
        write_run(root, "verdict-gan", seed, budget="paper", extractor=TORCH_FIDELITY,
                  metrics={"fid": fid, "kid_mean": 0.01 + seed / 1000, "kid_std": 0.001, "is_mean": 8.0, "is_std": 0.1})
    return root
