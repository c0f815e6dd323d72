"""A real one-node SLURM cluster on localhost, for tests: munge, slurmctld and slurmd in a temp dir.

Everything the daemons write (key, sockets, state, spool, logs, job completion records) stays in the
folder given; the cluster is reached through `SLURM_CONF`, so `sbatch`, `squeue`, `scancel`, `scontrol`
(and submitit, which calls them) talk to it and to nothing else. Debian's packages are enough:
`apt-get install slurm-wlm munge`. The configuration is the smallest that runs unprivileged
containers' jobs: no cgroups (proctrack/linuxproc, task/none) and no accounting database
(accounting_storage/none: `sacct` has nothing to read; finished jobs are kept in a jobcomp/filetxt
file and, for MinJobAge seconds, in `scontrol show job`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo", "srun")


def missing_reason() -> str | None:
    """Why no cluster can be started here (None when it can): not root, or packages missing."""
    if os.name != "posix" or os.geteuid() != 0:
        return "the SLURM daemons are started as root (they switch to no other user); run the tests as root"
    missing = [tool for tool in (*DAEMONS, *CLIENTS) if shutil.which(tool, path=_sbin_path()) is None]
    if missing:
        return f"SLURM or munge is not installed (missing {', '.join(missing)}): apt-get install slurm-wlm munge"
    return None


def _sbin_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalSlurm:
    """Start with `start()`, stop with `stop()`; `env` is what a client process needs (SLURM_CONF)."""

    def __init__(self, root: Path, cpus: int = 2, partition: str = "debug"):
        self.root = Path(root)
        self.cpus = cpus
        self.partition = partition
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.jobcomp = self.root / "jobcomp.txt"
        self._daemons: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf), "PATH": _sbin_path()}

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    # ------------------------------------------------------------------------------------ set-up
    def _write_munge_key(self) -> Path:
        key = self.root / "munge" / "munge.key"
        key.parent.mkdir(mode=0o700, parents=True)
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        return key

    def _write_conf(self) -> None:
        state, spool = self.root / "state", self.root / "spool"
        state.mkdir()
        spool.mkdir()
        settings = {
            "ClusterName": "gan-bench-test",
            "SlurmctldHost": f"{self.node}(127.0.0.1)",
            "SlurmctldPort": _free_port(),
            "SlurmdPort": _free_port(),
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "AuthType": "auth/munge",
            "CredType": "cred/munge",
            # cred_expire is also how long a requeued job waits before it may start again (default 120 s)
            "AuthInfo": f"socket={self.root / 'munge' / 'munge.socket'},cred_expire=10",
            "StateSaveLocation": state,
            "SlurmdSpoolDir": spool,
            "SlurmctldPidFile": self.root / "slurmctld.pid",
            "SlurmdPidFile": self.root / "slurmd.pid",
            "SlurmctldLogFile": self.root / "slurmctld.log",
            "SlurmdLogFile": self.root / "slurmd.log",
            "ProctrackType": "proctrack/linuxproc",  # no cgroups in most containers
            "TaskPlugin": "task/none",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_CPU",
            "SchedulerType": "sched/backfill",
            "AccountingStorageType": "accounting_storage/none",  # no slurmdbd: sacct has nothing
            "JobAcctGatherType": "jobacct_gather/none",
            "JobCompType": "jobcomp/filetxt",
            "JobCompLoc": self.jobcomp,
            "JobRequeue": 1,
            "MpiDefault": "none",
            "ReturnToService": 2,
            "MinJobAge": 600,  # finished jobs stay visible to scontrol for the whole test session
            "KillWait": 30,  # SIGTERM to SIGKILL on scancel: time for a run to save its checkpoint
            "SchedulerParameters": "sched_interval=2",
        }
        lines = [f"{key}={value}" for key, value in settings.items()]
        lines.append(f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory=1000 State=UNKNOWN")
        lines.append(f"PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP")
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _spawn(self, *argv: str) -> None:
        log = open(self.root / f"{Path(argv[0]).name}.out", "wb")
        self._daemons.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self._client_env(),
                                              start_new_session=True))

    def start(self, timeout_s: float = 60.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)  # munged refuses a socket folder others can write to
        key = self._write_munge_key()
        self._write_conf()
        munge = key.parent
        self._spawn("munged", "--foreground", "--force", f"--key-file={key}", f"--socket={munge / 'munge.socket'}",
                    f"--pid-file={munge / 'munged.pid'}", f"--log-file={munge / 'munged.log'}",
                    f"--seed-file={munge / 'munged.seed'}")
        self._wait_for(lambda: (munge / "munge.socket").exists(), timeout_s, "munged did not open its socket")
        self._spawn("slurmctld", "-D", "-f", str(self.conf))
        self._spawn("slurmd", "-D", "-f", str(self.conf), "-N", self.node)
        self._wait_for(self.node_idle, timeout_s, "the node did not come up idle")

    def _wait_for(self, ready, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            dead = [p for p in self._daemons if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead[0].args[0]} exited with code {dead[0].returncode}: {self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} within {timeout_s:.0f} s: {self.logs()}")

    def node_idle(self) -> bool:
        out = self.command("sinfo", "--noheader", "--format=%T", "--nodes", self.node, check=False)
        return out.strip() == "idle"

    # -------------------------------------------------------------------------------------- use
    def command(self, *argv: str, check: bool = True) -> str:
        proc = subprocess.run(argv, capture_output=True, text=True, env=self._client_env(), timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout

    def job_field(self, job_id: str, field: str) -> str:
        """One field of `scontrol show job` (JobState, ArrayTaskThrottle, Restarts, …); '' if absent."""
        out = self.command("scontrol", "show", "job", "--oneliner", job_id, check=False)
        for item in out.split():
            key, _, value = item.partition("=")
            if key == field:
                return value
        return ""

    def queue(self, *job_ids: str) -> list[str]:
        """Ids of these jobs (default: all of this user's) still in the queue: pending, running, completing."""
        which = ["--jobs", ",".join(job_ids)] if job_ids else ["--me"]
        return self.command("squeue", "--noheader", "--array", "--format=%i", *which, check=False).split()

    def logs(self) -> str:
        tails = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log", "munged.out", "slurmctld.out", "slurmd.out"):
            path = self.root / name
            if path.is_file():
                text = path.read_text(errors="replace").strip().splitlines()[-5:]
                tails.append(f"[{name}] " + " | ".join(text))
        return " ".join(tails) or "(no logs)"

    # ---------------------------------------------------------------------------------- tear-down
    def stop(self) -> None:
        if self.conf.is_file() and any(p.poll() is None for p in self._daemons):
            self.command("scancel", "--full", "--user=root", check=False)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.queue():
                time.sleep(0.5)
        for process in reversed(self._daemons):  # slurmd, slurmctld, then munged
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._daemons.clear()
