"""A real single-node SLURM cluster for the tests in tests/cluster, started once per pytest session.

Debian's slurm-wlm and munge are installed by ``setup_slurm.sh`` when missing (``make test-cluster`` runs
it first; the fixture runs it too when started by root). The fixture starts private daemons that share
nothing with a system installation: munged with its own key and socket, then slurmctld and slurmd with a
``slurm.conf`` (proctrack/linuxproc, task/none, no cgroups, select/cons_tres, one node with this
machine's CPUs and memory, partition ``debug``) whose ports, state, spool and logs live in a temporary
directory, and stops them at the end. Only when SLURM cannot be installed are the tests skipped, with
a reason that says so (and a banner at the end of the run).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SETUP = HERE / "setup_slurm.sh"
SBIN = os.pathsep.join(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "scontrol", "sinfo", "squeue", "scancel")
FINISHED = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
}
SKIPPED: list[str] = []


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + SBIN)


def _missing() -> list[str]:
    return [n for n in (*DAEMONS, *CLIENTS) if _which(n) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else f"({path} missing)"


@dataclass
class Job:
    """One record of ``scontrol show job -o`` (an array job has one per task)."""

    fields: dict[str, str]

    @property
    def state(self) -> str:
        return self.fields["JobState"]

    @property
    def exit_code(self) -> str:
        return self.fields["ExitCode"]

    def __getitem__(self, key: str) -> str:
        return self.fields[key]


@dataclass
class Cluster:
    """Handles on the running test cluster; commands run with its ``SLURM_CONF``."""

    root: Path
    conf: Path
    env: dict[str, str]
    node: str
    cpus: int
    memory_mb: int
    jobcomp: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *cmd: str, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout, **kw)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def sbatch(
        self, *args: str, env: dict[str, str] | None = None, wait: bool = False, timeout: float = 600
    ) -> tuple[int, int]:
        """Submit; -> (job id, sbatch's exit status). With ``--wait`` among the args, or ``wait`` (which
        polls scontrol every half second: sbatch --wait's own polling backs off to half a minute), this
        returns when the job has ended."""
        cmd = [_which("sbatch") or "sbatch", "--parsable", *args]
        done = subprocess.run(
            cmd, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )
        match = re.match(r"(\d+)", done.stdout.strip())
        assert match, f"sbatch printed no job id ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        if wait:
            self.wait(match.group(1), timeout=timeout)
        return int(match.group(1)), done.returncode

    def jobs(self, job_id: int | str) -> list[Job]:
        """``scontrol show job -o``: every record of the job (all array tasks), each as a dict."""
        out = self.run("scontrol", "show", "job", "-o", str(job_id)).stdout
        return [Job(dict(re.findall(r"(\w+)=(\S*)", line))) for line in out.splitlines() if line.strip()]

    def tasks(self, job_id: int | str) -> dict[int, Job]:
        """Array tasks by their index (pending tasks still grouped in one record are left out)."""
        return {int(j["ArrayTaskId"]): j for j in self.jobs(job_id) if j["ArrayTaskId"].isdigit()}

    def wait(self, job_id: int | str, timeout: float = 300, states: set[str] = FINISHED) -> list[Job]:
        """Poll until every record of the job is in one of ``states``."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs(job_id)
            if jobs and all(j.state in states for j in jobs):
                return jobs
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {job_id} not in {states} after {timeout}s: {[j.fields for j in jobs]}"
                )
            time.sleep(0.5)

    def completions(self, job_id: int | str) -> list[dict[str, str]]:
        """The job's lines in the jobcomp/filetxt log: one per run that ended (a requeue included)."""
        if not self.jobcomp.exists():
            return []
        rows = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in self.jobcomp.read_text().splitlines()]
        return [r for r in rows if r.get("JobId") == str(job_id)]

    def diagnostics(self) -> str:
        logs = self.root / "log"
        return "\n".join(f"--- {p.name}\n{_tail(p)}" for p in sorted(logs.glob("*.log")))


def _node_hardware() -> tuple[str, int, int, str]:
    """(node name, CPUs, RealMemory MB, topology) as slurmd -C reports this machine."""
    out = subprocess.run(
        [_which("slurmd") or "slurmd", "-C"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("NodeName="))
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    topo = " ".join(
        f"{k}={kv[k]}" for k in ("Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore") if k in kv
    )
    return kv["NodeName"], int(kv["CPUs"]), int(kv["RealMemory"]), topo


def _write_conf(root: Path, node: str, cpus: int, memory_mb: int, topo: str, socket_path: Path) -> Path:
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "plugstack.conf").write_text("")
    conf = root / "slurm.conf"
    conf.write_text(
        f"""# single-node test cluster (tests/cluster/conftest.py)
ClusterName=seqrnn-test
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket_path}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={root}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/jobcomp.txt
JobRequeue=1
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
MailProg=/bin/true
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} {topo} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""
    )
    return conf


def _install_or_skip() -> None:
    """Run setup_slurm.sh when SLURM is missing; skip (loudly) only when that cannot install it."""
    missing = _missing()
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=1200)
        missing = _missing()
        if not missing:
            return
        cause = (
            f"{SETUP.name} (apt-get install slurm-wlm munge) failed: {(done.stdout + done.stderr)[-1500:]}"
        )
    else:
        cause = f"installing them needs root and apt-get (sudo bash {SETUP})"
    reason = (
        f"SLURM NOT AVAILABLE: {', '.join(missing)} missing and {cause.strip()}; "
        "the tests in tests/cluster did not run."
    )
    SKIPPED.append(reason)
    print(f"\n{'!' * 100}\n{reason}\n{'!' * 100}", file=sys.stderr)
    pytest.skip(reason)


def _start(name: str, cmd: list[str], root: Path, env: dict[str, str]) -> subprocess.Popen:
    out = (root / "log" / f"{name}.stdout").open("w")
    return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _install_or_skip()
    # Short path: munge's socket path must fit a sockaddr_un.
    root = tmp_path_factory.mktemp("slurm")
    (root / "log").mkdir()
    (root / "munge").mkdir(mode=0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = root / "munge" / "munge.socket"
    node, cpus, memory_mb, topo = _node_hardware()
    conf = _write_conf(root, node, cpus, memory_mb, topo, sock)
    bindir = str(Path(sys.executable).parent)
    # snakemake-executor-plugin-slurm-jobstep removes SLURM_CONF (with all SLURM_* variables) from the
    # environment of the srun it runs inside a job; a cluster with its slurm.conf at the default path
    # does not notice. Here an srun on PATH (the jobs inherit PATH) puts it back.
    shims = root / "bin"
    shims.mkdir()
    srun = shims / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {_which("srun")} "$@"\n')
    srun.chmod(0o755)
    env = {
        **os.environ,
        "SLURM_CONF": str(conf),
        "PATH": os.pathsep.join([str(shims), bindir, os.environ.get("PATH", ""), SBIN]),
        "OMP_NUM_THREADS": "1",
    }
    for var in [v for v in env if v.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))]:
        if var != "SLURM_CONF":
            del env[var]  # a test session started inside a SLURM job must not leak that job's settings
    cl = Cluster(root, conf, env, node, cpus, memory_mb, root / "jobcomp.txt")
    try:
        munged = [_which("munged") or "munged", "--foreground", "--force", f"--key-file={key}"]
        munged += [f"--socket={sock}", f"--pid-file={root}/munge/munged.pid"]
        munged += [f"--log-file={root}/log/munged.log", f"--seed-file={root}/munge/munged.seed"]
        cl.procs["munged"] = _start("munged", munged, root, env)
        deadline = time.monotonic() + 30
        while not sock.exists():
            if cl.procs["munged"].poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "munged did not start:\n" + _tail(root / "log" / "munged.stdout") + cl.diagnostics()
                )
            time.sleep(0.1)
        cl.procs["slurmctld"] = _start(
            "slurmctld", [_which("slurmctld") or "slurmctld", "-D", "-i", "-f", str(conf)], root, env
        )
        cl.procs["slurmd"] = _start(
            "slurmd", [_which("slurmd") or "slurmd", "-D", "-f", str(conf), "-N", node], root, env
        )
        deadline = time.monotonic() + 60
        state = ""
        while True:
            done = cl.run("sinfo", "-h", "-N", "-o", "%N %T", check=False, timeout=20)
            state = done.stdout.strip() + done.stderr.strip()
            if done.returncode == 0 and state.split()[-1:] == ["idle"]:
                break
            dead = [n for n, p in cl.procs.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                pytest.fail(
                    f"the SLURM test cluster did not come up (dead: {dead}; sinfo: {state!r})\n"
                    + "\n".join(_tail(root / "log" / f"{n}.stdout") for n in DAEMONS)
                    + cl.diagnostics()
                )
            time.sleep(0.5)
        yield cl
    finally:
        if "slurmctld" in cl.procs and cl.procs["slurmctld"].poll() is None:
            cl.run("scancel", "--partition=debug", check=False, timeout=30)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not cl.run("squeue", "-h", check=False, timeout=20).stdout.strip():
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            if name in cl.procs:
                _stop(cl.procs[name])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for reason in SKIPPED:
        terminalreporter.section("SLURM CLUSTER TESTS SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.write_line(reason, red=True, bold=True)
