"""DCGAN end to end through the CLI on real MNIST: run, run directory, evaluate, report, pandas.

The run (conftest's `dcgan_smoke_run`, shared with other files) is scored with the real TorchScript
Inception detector when ../shared/data has it, on SCORED_RUN_SAMPLES samples: these are the tests of
the real detector in the pipeline (the every-paper smoke test uses a stand-in).
"""

from __future__ import annotations

import json
import math
import shutil

import pytest

from harness.registry import load_registry
from harness.runstore import results_table
from tests.smoke_kit import SCORED_RUN_SAMPLES

pytestmark = pytest.mark.slow


def test_run_directory_layout_and_provenance(dcgan_smoke_run):
    names = {p.name for p in dcgan_smoke_run.iterdir()}
    assert {"config.json", "curves.jsonl", "result.json", "samples.png", "checkpoint.pt"} <= names
    assert not [n for n in names if n.endswith(".tmp")]  # no leftovers of atomic writes
    config = json.loads((dcgan_smoke_run / "config.json").read_text())
    assert config["paper"] == "dcgan" and config["dataset"] == "mnist" and config["seed"] == 1
    assert config["hyperparameters"]["lr"] == 2e-4 and config["budget"]["name"] == "smoke-custom"
    assert config["budget"]["g_steps"] == 20 and config["budget"]["batch_size"] == 16  # the smoke budget's
    result = json.loads((dcgan_smoke_run / "result.json").read_text())
    assert result["status"] == "finished" and result["progress"]["g_steps"] == 20
    assert result["progress"]["images_seen"] == 20 * 16
    provenance = result["provenance"]
    assert provenance["packages"]["torch"] and provenance["device"]["type"] == "cpu" and provenance["git"]["commit"]
    (score,) = result["scores"]
    protocol = score["protocol"]
    assert protocol["num_samples"] == protocol["real_samples"] == SCORED_RUN_SAMPLES
    assert protocol["real_split"] == "train"
    assert protocol["extractor"]["kind"] == "torchscript" and len(protocol["extractor"]["weights_sha256"]) == 64
    assert math.isfinite(score["metrics"]["fid"]) and math.isfinite(score["metrics"]["kid_mean"])
    assert "is_mean" not in score["metrics"]  # the pool3 detector has no logits
    curves = [json.loads(line) for line in (dcgan_smoke_run / "curves.jsonl").read_text().splitlines()]
    losses = [c for c in curves if c["kind"] == "loss"]
    assert [c["g_step"] for c in losses] == [5, 10, 15, 20] and all(math.isfinite(c["loss_d"]) for c in losses)
    assert curves[-1]["kind"] == "metric" and curves[-1]["fid"] == score["metrics"]["fid"]


def test_evaluate_rescores_from_the_checkpoint(dcgan_smoke_run, cli, tmp_path):
    run = shutil.copytree(dcgan_smoke_run, tmp_path / "run")  # the shared run stays as it was trained
    before = json.loads((run / "result.json").read_text())["scores"][0]["metrics"]
    result = cli("evaluate", run, "--device", "cpu")
    assert result.exit_code == 0, result.output
    scores = json.loads((run / "result.json").read_text())["scores"]
    assert len(scores) == 1  # same protocol: replaced, not duplicated
    # Same weights, same evaluation noise, same real statistics: the same numbers.
    assert scores[0]["metrics"]["fid"] == pytest.approx(before["fid"], rel=1e-5)
    fewer = 10  # MIN_SCORED_SAMPLES
    result = cli("evaluate", run, "--device", "cpu", "--samples", str(fewer))
    assert result.exit_code == 0, result.output
    scores = json.loads((run / "result.json").read_text())["scores"]
    assert sorted(s["protocol"]["num_samples"] for s in scores) == [fewer, SCORED_RUN_SAMPLES]  # added beside


def test_report_lists_the_run(dcgan_smoke_run, cli, tmp_path):
    runs_root = dcgan_smoke_run.parents[3]
    result = cli("report", "--runs-dir", runs_root, "--out", tmp_path / "site")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "site" / "index.html").read_text()
    assert "dcgan" in html and "mnist · smoke-custom" in html and "torchscript" in html
    # The paper's CIFAR-10 IS (6.16 ± 0.07) is not shown beside an MNIST run: no "paper" column at all.
    assert "6.16 ± 0.07" not in html and 'class="num reported"' not in html
    first = html
    cli("report", "--runs-dir", runs_root, "--out", tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_text() == first  # rebuilding is byte-identical


def test_results_table(dcgan_smoke_run):
    table = results_table(dcgan_smoke_run.parents[3])
    row = table[table["paper"] == "dcgan"].iloc[0]
    assert row["dataset"] == "mnist" and row["budget"] == "smoke-custom" and math.isfinite(row["fid"])
    assert row["extractor"].startswith("torchscript")


def test_list_and_show(cli):
    result = cli("list", "--status", "implemented")
    assert result.exit_code == 0, result.output
    header, *rows, footer = result.output.strip().splitlines()
    assert header.split()[:3] == ["id", "year", "status"]
    implemented = {entry.id for entry in load_registry().implemented()}
    assert {row.split()[0] for row in rows} == implemented and {row.split()[2] for row in rows} == {"implemented"}
    assert footer.startswith(f"{len(implemented)} of ")
    result = cli("list", "--search", "wasserstein", "--format", "json")
    ids = {row["id"] for row in json.loads(result.output)}
    assert {"wgan", "wgan-gp"} <= ids
    result = cli("show", "dcgan")
    assert result.exit_code == 0 and "1511.06434" in result.output and "6.16" in result.output
    assert "Table 3" in result.output
