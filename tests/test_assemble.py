"""Setup separated from phases: `run`, `resume` and `evaluate` build through one `assemble`; the D steps per
G step a config records come from the reproduction; a paper's own bug is not bad input; `list`'s filters
live in the registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness import experiment
from harness.budget import resolve_budget
from harness.checkpoints import load_reproduction, restore
from harness.errors import CheckpointError, GanBenchError, RegistryError
from harness.paper_code import PaperCodeError
from harness.registry import load_registry
from harness.reproduction import DataSpec, Reproduction

TOY = Path(__file__).parent / "toy_paper"
TINY = DataSpec("mnist", 1, 4, 10)


@pytest.fixture
def toy_paper(monkeypatch):
    import reproductions

    monkeypatch.setenv("GAN_BENCH_REGISTRY", str(TOY / "registry"))
    monkeypatch.setattr(reproductions, "__path__", [*reproductions.__path__, str(TOY / "reproductions")])
    monkeypatch.setenv("GAN_BENCH_REPRODUCTIONS", str(TOY / "reproductions"))


# ------------------------------------------------------------------------------------- one assemble
def test_run_resume_and_evaluate_build_the_same_model_through_assemble(toy_paper, monkeypatch, tmp_path):
    built = []
    real_assemble = experiment.assemble

    def spy(entry, config, device, ddp=experiment.SINGLE_PROCESS, setup=experiment.Setup()):
        parts = real_assemble(entry, config, device, ddp, setup)
        built.append((parts.repro.hp, parts.repro.data, setup))
        return parts

    monkeypatch.setattr(experiment, "assemble", spy)
    registry = load_registry()
    request = experiment.RunRequest(paper="toy-gan", dataset="mnist", budget="smoke", device="cpu", runs_root=tmp_path,
                                    evaluate=False, budget_overrides={"g_steps": 4})
    run = experiment.train_paper(registry.get("toy-gan"), request, say=lambda line: None)
    assert json.loads(run.result_path.read_text())["status"] == "finished"

    run.result_path.unlink()  # as if killed after its last checkpoint: resume finishes it from there
    experiment.resume_run(run.path, registry, say=lambda line: None)
    assert json.loads(run.result_path.read_text())["resumed"] is True

    state = torch.load(run.checkpoint_path, weights_only=True)
    state["reproduction"]["G"] = {k: torch.full_like(v, float("nan")) for k, v in state["reproduction"]["G"].items()}
    torch.save(state, run.checkpoint_path)  # NaN weights: evaluate assembles, loads, and refuses to score
    with pytest.raises(GanBenchError, match="recorded as diverged"):
        experiment.evaluate_run(run.path, registry, "cpu", say=lambda line: None)

    assert len(built) == 3  # run, resume, evaluate: each assembled once, by the same function
    (hp, data, new), (hp_resumed, data_resumed, resumed), (hp_scored, data_scored, scored) = built
    assert hp == hp_resumed == hp_scored and data == data_resumed == data_scored
    assert new.fresh_start and not resumed.fresh_start and not scored.train  # what differs is declared, not copied


# ------------------------------------------------------------------------------- D steps per G step
def test_sngan_records_the_d_steps_its_reproduction_takes_not_its_hyperparameter(monkeypatch, tmp_path):
    class NoPhases:  # only the config matters here: nothing is trained
        def __init__(self, parts, run, say, **_):
            self.run = run

        def train(self):
            return None

        def finish(self, outcome, config):
            return self.run

    monkeypatch.setattr(experiment, "Phases", NoPhases)
    request = experiment.RunRequest(paper="sngan", dataset="cifar10", budget="smoke", device="cpu", runs_root=tmp_path,
                                    evaluate=False, hyperparameters={"architecture": "resnet"})
    run = experiment.train_paper(load_registry().get("sngan"), request, say=lambda line: None)
    config = json.loads(run.config_path.read_text())
    assert config["hyperparameters"]["d_steps_per_g_step"] is None  # "the paper's n_dis for the architecture"
    assert config["d_steps_per_g_step"] == 5  # what the reproduction does: n_dis = 5 for the ResNet (appendix B.2)


def test_a_schedule_records_the_d_steps_most_g_steps_take():
    cls, hp, resolution = experiment.configure(load_registry().get("wgan"), "mnist", {"critic_boost": True})
    repro = experiment.instantiate(cls, hp, DataSpec("mnist", 1, resolution, 10), torch.device("cpu"), "wgan")
    assert experiment.d_steps_per_g_step(repro, resolve_budget("quick")) == 5  # n_critic, past the warm-up
    assert experiment.d_steps_per_g_step(repro, resolve_budget("smoke")) == 100  # 20 G steps: all in the warm-up


# ----------------------------------------------------------------------------- a paper's own bug
class TinyPaper(Reproduction):
    """A paper module's class (this file is its module): a linear G, and extra state of its own."""

    def __init__(self, data, hp, device, fault: type[Exception] | None = None):
        super().__init__(data, hp, device)
        if fault is not None:
            raise fault("the paper's constructor went wrong")
        self.G = torch.nn.Linear(2, data.features)

    def extra_state(self):
        return {"step": 3}

    def load_extra_state(self, state):
        self.step = state["step"] + 1  # a checkpoint without "step" is a KeyError: bad input


class AttributeBug(TinyPaper):
    def load_extra_state(self, state):
        self.step = state.step  # a dict has no .step: the paper's bug


@pytest.mark.parametrize("fault", [TypeError, AttributeError])
def test_a_constructor_bug_is_a_paper_code_error_naming_its_line(fault):
    cls = type("Buggy", (TinyPaper,), {"__init__": lambda self, d, h, dev: TinyPaper.__init__(self, d, h, dev, fault)})
    with pytest.raises(PaperCodeError, match=rf"a bug in toy's code.*test_assemble.py:\d+ \(__init__.*{fault.__name__}"):
        experiment.instantiate(cls, None, TINY, torch.device("cpu"), "toy")


def test_a_constructor_that_cannot_build_the_settings_is_still_bad_input():
    cls = type("Refusing", (TinyPaper,), {"__init__": lambda self, d, h, dev: TinyPaper.__init__(self, d, h, dev, ValueError)})
    with pytest.raises(GanBenchError, match="toy on mnist: the paper's constructor went wrong"):
        experiment.instantiate(cls, None, TINY, torch.device("cpu"), "toy")


def test_load_extra_state_bug_is_a_paper_code_error_but_a_checkpoint_that_does_not_fit_is_bad_input():
    state = TinyPaper(TINY, None, torch.device("cpu")).state_dict()
    with pytest.raises(PaperCodeError, match="AttributeError"):
        load_reproduction(AttributeBug(TINY, None, torch.device("cpu")), state, "toy")
    load_reproduction(fitting := TinyPaper(TINY, None, torch.device("cpu")), state, "toy")
    assert fitting.step == 4
    damaged = {"reproduction": {**state, "extra": {}}, "batches": {}, "rng": {}, "progress": {}}
    with pytest.raises(CheckpointError, match="does not fit this run \\(KeyError"):
        restore(damaged, TinyPaper(TINY, None, torch.device("cpu")), batches=None, paper="toy")


BUGGY_MODULE = '''"""toy-gan with a bug in its constructor."""
from reproductions.toy_gan import Hyperparameters, ToyGAN


class BuggyToy(ToyGAN):
    def __init__(self, data, hp, device):
        super().__init__(data, hp, device)
        self.width = hp.hidden.bit_length(extra=1)


REPRODUCTION = BuggyToy
'''


def test_the_cli_says_internal_error_for_a_paper_bug_and_shows_the_traceback_with_debug(tmp_path):
    (tmp_path / "registry" / "papers").mkdir(parents=True)
    (tmp_path / "reproductions").mkdir()
    entry = (TOY / "registry" / "papers" / "toy-gan.yaml").read_text()
    (tmp_path / "registry" / "papers" / "toy-gan.yaml").write_text(entry.replace("reproductions.toy_gan",
                                                                                 "reproductions.toy_buggy"))
    (tmp_path / "reproductions" / "toy_buggy.py").write_text(BUGGY_MODULE)
    env = {**os.environ, "GAN_BENCH_REGISTRY": str(tmp_path / "registry"),
           "GAN_BENCH_REPRODUCTIONS": os.pathsep.join([str(tmp_path / "reproductions"), str(TOY / "reproductions")])}
    env.pop("GAN_BENCH_DEBUG", None)
    args = [sys.executable, "-m", "harness.cli", "run", "toy-gan", "--budget", "smoke", "--device", "cpu", "--no-eval",
            "--runs-dir", str(tmp_path / "runs")]
    plain = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert plain.returncode == 1, plain.stderr  # not 2: the input was fine
    (line,) = plain.stderr.strip().splitlines()
    assert line.startswith("internal error: a bug in toy-gan's code") and "Traceback" not in plain.stderr
    assert "toy_buggy.py:8 (__init__, in its constructor): TypeError" in line and "--debug" in line, line
    debug = subprocess.run([*args[:3], "--debug", *args[3:]], capture_output=True, text=True, env=env, timeout=300)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "bit_length(extra=1)" in debug.stderr
    assert not (tmp_path / "runs").exists()  # failed before any run directory was made


# ------------------------------------------------------------------------------- registry filters
def test_the_registry_filters_what_list_shows():
    registry = load_registry()
    everything = registry.select()
    assert [e.id for e in everything] == [e.id for e in sorted(registry.papers.values(), key=lambda e: (e.year, e.id))]
    assert {e.id for e in registry.select(search="WASSERSTEIN")} == {"wgan", "wgan-gp"}  # title, any case
    implemented = registry.select(status="implemented")
    assert implemented and all(e.reproduction is not None for e in implemented)
    assert [e.id for e in registry.select({"dcgan"}, status="reproduced")] == ["dcgan"]
    assert "dcgan" not in {e.id for e in registry.select({"dcgan"}, status="implemented")}
    in_2017 = registry.select(year=2017, category="loss")
    assert in_2017 and all(e.year == 2017 and e.category == "loss" for e in in_2017)
    source = registry.papers["dcgan"].sources[0]
    assert all(source in e.sources for e in registry.select(source=source)) and registry.papers["dcgan"] in registry.select(source=source)
    with pytest.raises(RegistryError, match="unknown status 'done'; choose catalogued, implemented or reproduced"):
        registry.select(status="done")
