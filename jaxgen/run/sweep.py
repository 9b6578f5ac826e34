"""Sweeps: the points of one base config, each a run in its own workdir, run by an executor:

  inline  this process, one point after another (compiled programs are shared between points);
  local   submitit's local executor: each point its own process, up to `parallel` at once, each
          with its share of the CPU cores (and of $CUDA_VISIBLE_DEVICES' GPUs);
  slurm   submitit's SLURM executor: one array job (`parallel` tasks at a time); a task warned
          of its time limit or preempted writes a checkpoint and is requeued, and every task
          resumes its own workdir.

The sweep's workdir holds sweep.json (the points' overrides), one workdir per point and the
results table sweep_results.md / .csv, rebuilt from the points' final_metrics.json whenever a
point finishes and at any time by `collect`. Points that have finished are not run again.
"""

import csv
import dataclasses
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

import ml_collections

from jaxgen.run import workdirs

EXECUTORS = ("inline", "local", "slurm")
POINTS_FILE = "sweep.json"
TABLE = "sweep_results"
_RUN_ONLY = ("step", "train_seconds_this_session")  # final_metrics.json keys that describe the session


def run_name(index: int, overrides: dict) -> str:
    text = ",".join(f"{k}={v}" for k, v in overrides.items())
    return f"{index:03d}_" + re.sub(r"[^A-Za-z0-9_.=,-]+", "", text.replace(" ", ""))[:100]


def write_table(path_stem: str, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path_stem + ".csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    with open(path_stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


def finished(run_dir: str) -> dict | None:
    """The final metrics of a finished point (None while it has not finished)."""
    final = workdirs.final_metrics(run_dir)
    return None if final is None else {k: v for k, v in final.items() if k not in _RUN_ONLY}


def collect(workdir: str) -> tuple[list[dict], int]:
    """Rebuild the results table of the sweep in `workdir` from its finished points, in point
    order; returns (rows, number of points not finished)."""
    path = os.path.join(workdir, POINTS_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir!r} has no {POINTS_FILE}: not a sweep workdir")
    with open(path) as f:
        points = json.load(f)
    rows, pending = [], 0
    for i, overrides in enumerate(points):
        name = run_name(i, overrides)
        metrics = finished(os.path.join(workdir, name))
        if metrics is None:
            pending += 1
        else:
            rows.append({"run": name, **overrides, **metrics})
    if rows:
        write_table(os.path.join(workdir, TABLE), rows)
    return rows, pending


@dataclasses.dataclass
class Point:
    """One point of a sweep, as a job: trains (or resumes) `config` in `workdir`. `share` is
    the CPU cores and environment of its slot (local executor); submitit calls `checkpoint` when
    a SLURM job is warned of its time limit or preempted, and requeues the same point, which
    resumes from the checkpoint the run shell has just written."""

    config: ml_collections.ConfigDict
    workdir: str
    share: dict | None = None  # {"cpus": [...], "env": {...}}

    def __call__(self) -> str:
        if self.share:  # before jax starts its backend: thread pools and visible GPUs follow
            os.sched_setaffinity(0, self.share["cpus"])
            os.environ.update(self.share["env"])
        from jaxgen.run import train_and_evaluate

        train_and_evaluate(self.config, self.workdir)
        return self.workdir

    def checkpoint(self, *args, **kwargs) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(self)


def shares(parallel: int) -> list[dict]:
    """The slots of a local sweep: the CPU cores this process may use in `parallel` contiguous
    groups, and the GPUs of $CUDA_VISIBLE_DEVICES (else of `nvidia-smi -L`) likewise."""
    cores = sorted(os.sched_getaffinity(0))
    gpus = [g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g]
    if not gpus and "CUDA_VISIBLE_DEVICES" not in os.environ and shutil.which("nvidia-smi"):
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout
        gpus = [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU")]
    out = []
    for slot in range(parallel):
        per = max(1, len(cores) // parallel)
        cpus = cores[slot * per:(slot + 1) * per] or [cores[slot % len(cores)]]
        env = {}
        if gpus:
            per_gpu = max(1, len(gpus) // parallel)
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus[slot * per_gpu:(slot + 1) * per_gpu] or [gpus[slot % len(gpus)]])
        out.append({"cpus": cpus, "env": env})
    return out


@dataclasses.dataclass(frozen=True)
class Slurm:
    """The SLURM resources of every task of the array job (sbatch's options)."""

    partition: str | None = None
    time_min: int = 60
    gpus_per_task: int = 0
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    signal_delay_s: int = 120  # the time-limit warning (SIGUSR2) this long before the kill
    extra: tuple[tuple[str, str], ...] = ()  # more sbatch options, e.g. (("exclude", "node7"),)

    def parameters(self, parallel: int) -> dict:
        p = {"slurm_partition": self.partition, "timeout_min": self.time_min, "slurm_array_parallelism": parallel,
             "slurm_signal_delay_s": self.signal_delay_s, "tasks_per_node": 1, "nodes": 1,
             "slurm_additional_parameters": {"requeue": True, **dict(self.extra)}}
        if self.gpus_per_task:
            p["slurm_gpus_per_task"] = self.gpus_per_task
        optional = {"slurm_cpus_per_task": self.cpus_per_task, "slurm_account": self.account,
                    "slurm_qos": self.qos, "slurm_constraint": self.constraint,
                    "slurm_mem": None if self.mem_gb is None else f"{self.mem_gb:g}GB"}
        p.update({k: v for k, v in optional.items() if v is not None})
        return p


def check_executor(executor: str, parallel: int) -> None:
    """ValueError naming a bad --executor or --parallel."""
    if executor not in EXECUTORS:
        raise ValueError(f"--executor={executor!r}: expected one of {', '.join(EXECUTORS)}")
    if parallel < 1:
        raise ValueError(f"--parallel={parallel}: must be >= 1")


def run(base_points: list[dict], configs: list, workdir: str, executor: str = "inline", parallel: int = 1,
        slurm: Slurm = Slurm(), wait: bool = True, log: Callable[[str], None] = print) -> list[dict]:
    """Run the points (their overrides and checked configs) of a sweep in `workdir` on
    `executor`, skipping finished ones; returns the table's rows (those finished)."""
    check_executor(executor, parallel)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, POINTS_FILE), "w") as f:
        json.dump(base_points, f, indent=2, default=str)
    todo = []
    for i, (o, c) in enumerate(zip(base_points, configs)):
        run_dir = os.path.join(workdir, run_name(i, o))
        if finished(run_dir) is not None:
            log(f"[{i + 1}/{len(base_points)}] {o}: finished, skipped ({run_dir})")
        else:
            todo.append((i, o, Point(c, run_dir)))
    if executor == "inline":
        for i, o, point in todo:
            log(f"[{i + 1}/{len(base_points)}] {o} -> {point.workdir}")
            point()
            collect(workdir)
    elif todo:
        _submit(todo, len(base_points), workdir, executor, parallel, slurm, wait, log)
    rows, pending = collect(workdir)
    log(f"Results: {os.path.join(workdir, TABLE + '.md')} (and .csv); {len(rows)} finished, {pending} not")
    return rows


def _submit(todo, total: int, workdir: str, executor: str, parallel: int, slurm: Slurm, wait: bool, log) -> None:
    """Submit the points through submitit; with `wait`, follow them, rebuilding the table as
    each finishes. Local: at most `parallel` running, each pinned to its slot's share."""
    import submitit

    folder = os.path.join(workdir, "submitit", "%j")
    failures = []
    if executor == "slurm":
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
        ex.update_parameters(name=os.path.basename(os.path.abspath(workdir)), **slurm.parameters(parallel))
        with ex.batch():
            running = [(i, o, ex.submit(point), None) for i, o, point in todo]  # (.., slot): SLURM places them
        log(f"submitted array job {running[0][2].job_id.split('_')[0]}: {len(running)} points, {parallel} at a "
            f"time (logs in {os.path.dirname(folder)})")
        queue, free = [], []
    else:
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=7 * 24 * 60)
        running, queue, free = [], list(todo), shares(parallel)
    if not wait:
        return
    while running or queue:
        while executor == "local" and queue and free:
            i, o, point = queue.pop(0)
            point.share = slot = free.pop(0)
            log(f"[{i + 1}/{total}] {o} -> {point.workdir} (cores {slot['cpus']})")
            running.append((i, o, ex.submit(point), slot))
        time.sleep(0.5)
        for entry in [e for e in running if e[2].done()]:
            running.remove(entry)
            i, o, job, slot = entry
            if slot is not None:
                free.append(slot)
            try:
                job.result()
                log(f"[{i + 1}/{total}] {o}: finished")
            except Exception as err:  # noqa: BLE001 - one failed point does not stop the others
                failures.append(f"{o}: {str(err).strip().splitlines()[-1] if str(err).strip() else err!r}")
                log(f"[{i + 1}/{total}] {o}: FAILED (log: {job.paths.stderr})")
            collect(workdir)
    if failures:
        raise RuntimeError(f"{len(failures)} sweep point(s) failed: " + "; ".join(failures))
