"""Inputs that used to end in a traceback (issue 15): each now gives one `error:` line, and a
refused run leaves no run directory behind.

As in test_bad_input.py, a case runs the real entry point in a fresh process where what only a process
shows matters (one case per command here: list, sweep, show, resume, report); the `run` cases and the
other resume cases call the same app in this process (`in_process`), which gives the same error line
and exit code without 3-5 s of imports each."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from harness.errors import GanBenchError
from harness.registry import load_registry
from reports.render import render_site
from tests import fixtures
from tests.test_bad_input import assert_one_line_error, gan_bench, in_process, snapshot
from tests.test_hostile_results import SMOKE
from tests.test_report_support import write_run


def _registry_with(tmp_path: Path, name: str, text: bytes) -> dict:
    (tmp_path / "registry" / "papers").mkdir(parents=True)
    (tmp_path / "registry" / "papers" / f"{name}.yaml").write_bytes(text)
    return {"GAN_BENCH_REGISTRY": str(tmp_path / "registry")}


def test_a_registry_file_that_is_not_utf8(tmp_path):
    env = _registry_with(tmp_path, "latin", "id: latin\ntitle: Caf\xe9 GAN\n".encode("latin-1"))
    assert_one_line_error(gan_bench("list", env=env), "latin.yaml: not UTF-8 text")


def test_a_sweep_file_that_is_not_utf8(tmp_path):
    (tmp_path / "sweep.yaml").write_bytes(b"papers: [dcgan]\n# caf\xe9\n")
    proc = gan_bench("sweep", "--sweep", tmp_path / "sweep.yaml", "--dry-run", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(proc, "sweep.yaml: not UTF-8 text")


@pytest.mark.parametrize("module", ["reproductions.__init__", '"reproductions.dcgan\\n"'])
def test_a_module_name_that_is_not_a_reproduction(tmp_path, module):
    env = _registry_with(tmp_path, "odd", f"id: odd\ntitle: Odd\nauthors: [X]\nyear: 2020\ncategory: loss\n"
                         f"reproduction:\n  module: {module}\n  datasets: [mnist]\n".encode())
    assert_one_line_error(gan_bench("show", "odd", env=env), "odd.yaml: reproduction.module")


@pytest.mark.parametrize("damage", ["truncated", "not gzip"])
def test_a_damaged_mnist_file(tmp_path, damage, cli):
    fixtures.write_mnist_like(tmp_path / "data", n_train=64, n_test=16)
    images = tmp_path / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    data = images.read_bytes()
    images.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"plain bytes, not gzip" * 10)
    proc = in_process(cli, "run", "dcgan", *SMOKE, "--data-root", tmp_path / "data", "--no-download",
                      "--runs-dir", tmp_path / "runs")
    assert_one_line_error(proc, "train-images-idx3-ubyte.gz: damaged gzip file")


def test_a_full_disk_during_training_keeps_the_last_checkpoint(cli, tmp_path, monkeypatch):
    import harness.storage as storage

    real_fsync, checkpoints = storage.os.fsync, []

    def fsync_until_full(fd):  # the disk fills up while the second checkpoint is written
        if ".checkpoint.pt." in os.readlink(f"/proc/self/fd/{fd}"):
            checkpoints.append(fd)
            if len(checkpoints) > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(storage.os, "fsync", fsync_until_full)
    result = cli("run", "dcgan", *SMOKE, "--checkpoint-every", "5", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 1, result.output
    assert "error: no space left on" in result.output and "checkpoint.pt" in result.output
    (checkpoint,) = (tmp_path / "runs").rglob("checkpoint.pt")
    assert torch.load(checkpoint, weights_only=True)["progress"]["g_steps"] == 5
    assert not list((tmp_path / "runs").rglob("*.tmp"))


@pytest.mark.parametrize("args, expected", [
    (["--set", "z_dim=-5"], "dcgan on mnist: Trying to create tensor with negative dimension"),
    (["--set", "z_dim=[1"], "--set z_dim: cannot read"),
    (["--set", "z_dim=0"], "the networks cannot generate with these hyperparameters"),
    (["--kimg", "inf"], "budget: kimg"),
    (["--eval-samples", "1"], "budget: eval_samples: at least 10"),
    (["--real-samples", "1"], "budget: real_samples: at least 10"),
], ids=["negative", "unclosed list", "zero", "infinite kimg", "one sample", "one real image"])
def test_bad_values_are_refused_before_a_run_dir_exists(tmp_path, args, expected, cli):
    proc = in_process(cli, "run", "dcgan", *SMOKE, "--g-steps", "2", *args, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(proc, expected)
    assert not list((tmp_path / "runs").rglob("config.json")) if (tmp_path / "runs").exists() else True


@pytest.mark.parametrize("field, value, expected", [
    ("seed", "x", "seed must be int"),
    ("budget", {"g_steps": 5}, "budget:"),
    ("hyperparameters", None, "hyperparameters must be dict"),
])
def test_a_damaged_config_on_resume(unscored_run, tmp_path, field, value, expected, cli):
    run = Path(shutil.copytree(unscored_run, tmp_path / "run"))
    (run / "result.json").unlink()
    config = json.loads((run / "config.json").read_text())
    config[field] = value
    (run / "config.json").write_text(json.dumps(config))
    before = snapshot(run)
    proc = gan_bench("resume", run) if field == "seed" else in_process(cli, "resume", run)  # one in a process
    assert_one_line_error(proc, expected)
    assert snapshot(run) == before


def test_a_damaged_checkpoint_field_on_resume(unscored_run, tmp_path, cli):
    run = Path(shutil.copytree(unscored_run, tmp_path / "run"))
    (run / "result.json").unlink()
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["progress"]["wall_clock_s"] = "soon"
    torch.save(state, run / "checkpoint.pt")
    assert_one_line_error(in_process(cli, "resume", run), "progress.wall_clock_s must be")


@pytest.mark.parametrize("damage", [
    lambda r: r["progress"].update(kimg="abc"),
    lambda r: r["scores"][0]["metrics"].update(fid="12.5"),
    lambda r: r["scores"][0]["protocol"].update(num_samples="many"),
    lambda r: r.update(seed="zero"),
    lambda r: r["provenance"].update(device="gpu"),
    lambda r: r.update(scores={"fid": 1}),
], ids=["kimg", "fid", "num_samples", "seed", "device", "scores"])
def test_report_skips_and_lists_a_result_with_a_wrong_type(tmp_path, damage):
    runs = tmp_path / "runs"
    write_run(runs, "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    bad = write_run(runs, "dcgan", 1, metrics={"fid": 20.0, "kid_mean": 0.02, "kid_std": 0.001})
    result = json.loads((bad / "result.json").read_text())
    damage(result)
    (bad / "result.json").write_text(json.dumps(result))
    render_site(runs, load_registry(), tmp_path / "site", ["md", "csv"])
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Excluded runs" in index and bad.name in index


def test_report_draws_a_loss_name_that_is_not_valid_mathtext(tmp_path):
    runs = tmp_path / "runs"
    run = write_run(runs, "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    with (run / "curves.jsonl").open("a") as curves:
        curves.write(json.dumps({"kind": "loss", "g_step": 25, "kimg": 0.4, "loss_$\\frac{$": 1.0}) + "\n")
    render_site(runs, load_registry(), tmp_path / "site")
    assert list((tmp_path / "site").rglob("losses.svg")) or list((tmp_path / "site").rglob("*.svg"))


def test_report_to_an_unwritable_out(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    (tmp_path / "a-file").write_text("x")
    assert_one_line_error(gan_bench("report", "--runs-dir", runs, "--out", tmp_path / "a-file" / "site"),
                          "cannot write the site to")


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_report_runs_dir_that_is_not_a_folder(tmp_path, kind):
    runs = tmp_path / "runs"
    if kind == "a file":
        runs.write_text("x")
    with pytest.raises(GanBenchError, match="--runs-dir"):
        render_site(runs, load_registry(), tmp_path / "site")
    assert not (tmp_path / "site").exists()
