"""Errors that point at the line: a registry hyperparameter error names the file and key path; a
reproduction module that raises on import gives one `error:` line with its file, line and exception
(the traceback only with --debug or GAN_BENCH_DEBUG=1), exit 2.

Each case runs the real entry point in a fresh process, with an extra registry and module folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOY = Path(__file__).parent / "toy_paper"
TOY_ENTRY = (TOY / "registry" / "papers" / "toy-gan.yaml").read_text()
BROKEN_MODULE = '''"""A module whose own code raises while it is imported."""
import torch

SCALE = 1 / 0
'''


def gan_bench(*args, extra: Path, debug: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAN_BENCH_REGISTRY": str(extra / "registry"),
           "GAN_BENCH_REPRODUCTIONS": os.pathsep.join([str(extra / "reproductions"), str(TOY / "reproductions")])}
    env.pop("GAN_BENCH_DEBUG", None)
    if debug:
        env["GAN_BENCH_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-m", "harness.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def write_paper(extra: Path, entry_text: str, module: str | None = None) -> None:
    (extra / "registry" / "papers").mkdir(parents=True)
    (extra / "reproductions").mkdir()
    (extra / "registry" / "papers" / "toy-gan.yaml").write_text(entry_text)
    if module is not None:
        (extra / "reproductions" / "toy_broken.py").write_text(module)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", [["show", "toy-gan"], ["run", "toy-gan", "--dataset", "fashion-mnist",
                                                           "--budget", "smoke", "--device", "cpu", "--no-eval"]])
def test_unknown_hyperparameter_names_file_and_key_path(tmp_path, command):
    write_paper(tmp_path, TOY_ENTRY.replace("{hidden: 32}", "{hiddne: 32}"))
    line = one_error_line(gan_bench(*command, "--runs-dir", tmp_path / "runs", extra=tmp_path)
                          if command[0] == "run" else gan_bench(*command, extra=tmp_path))
    papers = tmp_path / "registry" / "papers" / "toy-gan.yaml"
    assert f"{papers}: reproduction.per_dataset.fashion-mnist.hiddne: unknown hyperparameter 'hiddne'" in line
    assert not (tmp_path / "runs").exists()  # refused before any run directory was made


def test_badly_typed_hyperparameter_names_file_and_key_path(tmp_path):
    write_paper(tmp_path, TOY_ENTRY.replace("  per_dataset:", "  hyperparameters: {hidden: wide}\n  per_dataset:"))
    line = one_error_line(gan_bench("validate", extra=tmp_path))
    assert "toy-gan.yaml: reproduction.hyperparameters.hidden: Input should be a valid integer" in line, line


def test_module_that_raises_on_import_gives_its_file_and_line(tmp_path):
    write_paper(tmp_path, TOY_ENTRY.replace("reproductions.toy_gan", "reproductions.toy_broken"), BROKEN_MODULE)
    line = one_error_line(gan_bench("run", "toy-gan", "--device", "cpu", "--no-eval", extra=tmp_path))
    module = tmp_path / "reproductions" / "toy_broken.py"
    assert f"{module}:4: ZeroDivisionError: division by zero (importing reproductions.toy_broken)" in line, line


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_debug_prints_the_traceback(tmp_path, how):
    write_paper(tmp_path, TOY_ENTRY.replace("reproductions.toy_gan", "reproductions.toy_broken"), BROKEN_MODULE)
    args = ["run", "toy-gan", "--device", "cpu", "--no-eval"]
    proc = gan_bench("--debug", *args, extra=tmp_path) if how == "flag" else gan_bench(*args, extra=tmp_path, debug=True)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "SCALE = 1 / 0" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
