"""Sweeps on submitit's executors: local points in parallel give the inline table, finished
points are skipped, --collect rebuilds the table; the SLURM array job's submission script
(a stand-in sbatch records it: no cluster needed)."""

import os
import stat
import subprocess
import sys

from tests.conftest import REPO, timeout

SWEEP = [sys.executable, "-m", "experiments.sweep", "--config=experiments/configs/vae.py:smoke",
         "--set=optim.lr=1e-3,3e-3", "--config.train.num_steps=3"]


def sweep(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*SWEEP, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout(), check=False,
                          env=env)


def test_local_executor_in_parallel_gives_the_inline_table_and_skips_finished_points(tmp_path):
    inline = sweep(f"--workdir={tmp_path / 'inline'}")
    assert inline.returncode == 0, inline.stderr[-3000:]
    local = sweep(f"--workdir={tmp_path / 'local'}", "--executor=local", "--parallel=2")
    assert local.returncode == 0, local.stderr[-3000:]
    # each point in its own process, pinned to its own cores
    jobs = [d for d in os.listdir(tmp_path / "local" / "submitit") if d.isdigit()]  # a folder per job
    assert local.stdout.count("(cores [") == 2 and len(jobs) == 2
    table = (tmp_path / "inline" / "sweep_results.csv").read_text()
    assert table.count("\n") == 3 and "test_log_likelihood" in table.splitlines()[0]
    assert (tmp_path / "local" / "sweep_results.csv").read_text() == table
    again = sweep(f"--workdir={tmp_path / 'local'}", "--executor=local", "--parallel=2")
    assert again.returncode == 0 and again.stdout.count("finished, skipped") == 2, again.stderr[-3000:]
    os.remove(tmp_path / "local" / "sweep_results.csv")
    collected = subprocess.run([sys.executable, "-m", "experiments.sweep", f"--workdir={tmp_path / 'local'}",
                                "--collect"], cwd=REPO, capture_output=True, text=True, timeout=timeout(), check=False)
    assert collected.returncode == 0 and "2 points finished, 0 not" in collected.stdout, collected.stderr[-2000:]
    assert (tmp_path / "local" / "sweep_results.csv").read_text() == table


def test_slurm_executor_submits_one_requeueable_array_job(tmp_path):
    bin_dir, scripts = tmp_path / "bin", tmp_path / "submitted"
    bin_dir.mkdir()
    scripts.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(f'#!/bin/sh\ncp "$1" {scripts}/job.sh\necho "Submitted batch job 4242"\n')
    srun = bin_dir / "srun"  # submitit looks for it; the script calls it on the cluster
    srun.write_text("#!/bin/sh\nexit 1\n")
    for tool in (sbatch, srun):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    result = sweep(f"--workdir={tmp_path / 'sweep'}", "--executor=slurm", "--parallel=2", "--nowait",
                   "--slurm_partition=gpu", "--slurm_time=240", "--slurm_gpus_per_task=1", "--slurm_cpus_per_task=8",
                   "--slurm_option=exclude=node7", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "submitted array job 4242: 2 points, 2 at a time" in result.stdout
    script = (scripts / "job.sh").read_text().splitlines()
    for line in ("#SBATCH --array=0-1%2", "#SBATCH --partition=gpu", "#SBATCH --time=240", "#SBATCH --gpus-per-task=1",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --requeue", "#SBATCH --signal=USR2@120",
                 "#SBATCH --exclude=node7", "#SBATCH --ntasks-per-node=1"):
        assert line in script, (line, script)
    assert any("submitit.core._submit" in line and line.startswith("srun") for line in script)
    # each array task runs one pickled point in its own workdir; nothing ran here
    assert sorted(os.listdir(tmp_path / "sweep")) == ["submitit", "sweep.json"]
