"""Training over several processes joined by jax.distributed (2 processes x 2 CPU devices each,
gloo collectives): data slices, the same parameters as one process, checkpoints that move
between the two layouts, and a preempted 2-process run that resumes exactly."""

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO, TEST_XLA_FLAGS, timeout
from tests.train.helpers import assert_same_params, launch_args, params_of, run

SETTINGS = {"train.num_steps": 20, "checkpoint.every_steps": 10, "checkpoint.keep": 3, "train.log_every": 1}
PREEMPTED = 75


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_two(workdir, term_at: int = 0) -> list[subprocess.CompletedProcess]:
    """The 2-process run of vae.py:smoke with SETTINGS in `workdir`, each process on 2 devices."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count=2 {TEST_XLA_FLAGS}",
               JAX_PLATFORMS="cpu")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # see tests/train/helpers.py: collectives compile afresh
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.train.distributed_worker", str(p), "2", str(port),
                               str(workdir), str(term_at), *(f"{k}={v}" for k, v in SETTINGS.items())],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for p in range(2)]
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=timeout())
        finally:
            p.kill()
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


def run_one(workdir) -> subprocess.CompletedProcess:
    return run(launch_args(workdir, *(f"--config.{k}={v}" for k, v in SETTINGS.items())), devices=4)


def rewind(src, dst, step: int):
    """A copy of finished run `src` as it was after its checkpoint at `step`."""
    shutil.copytree(src, dst)
    for name in os.listdir(dst / "checkpoints"):
        if name.isdigit() and int(name) > step:
            shutil.rmtree(dst / "checkpoints" / name)
    (dst / "final_metrics.json").unlink()
    return dst


@pytest.mark.slow
def test_two_processes_train_checkpoint_and_resume_like_one(tmp_path):
    one = run_one(tmp_path / "one")  # 1 process x 4 devices: the reference
    assert one.returncode == 0, one.stderr[-3000:]
    reference = params_of(tmp_path / "one")

    # 2 processes, preempted: SIGTERM reaches process 0 after step 5; JAX's preemption service
    # has both stop at the same step, write one checkpoint there and exit 75
    two = tmp_path / "two"
    stopped = run_two(two, term_at=5)
    for p, r in enumerate(stopped):
        assert r.returncode == PREEMPTED, f"process {p}: {r.returncode}\n{r.stderr[-3000:]}"
        assert f"process {p}: batch slices ok" in r.stdout
    stop = max(int(s) for s in os.listdir(two / "checkpoints") if s.isdigit())  # (10 also, if it stopped later)
    assert 5 <= stop < 20 and f"stopped by SIGTERM after step {stop}" in stopped[0].stdout, stop
    assert f"stopped by SIGTERM after step {stop}" in stopped[1].stdout

    # ... and restarted as 2 processes, it resumes there and ends with the reference's params
    resumed = run_two(two)
    for p, r in enumerate(resumed):
        assert r.returncode == 0, f"process {p}: {r.returncode}\n{r.stderr[-3000:]}"
    assert f"Resuming from step {stop}" in resumed[0].stdout
    assert_same_params(reference, params_of(two), atol=1e-6, rtol=1e-6)
    # the evaluation, each process feeding its rows and every host gathering the outputs, is the
    # same as one process's (same params, same per-example keys)
    final_two, final_one = (json.loads((d / "final_metrics.json").read_text()) for d in (two, tmp_path / "one"))
    for k in ("test_log_likelihood", "test_log_likelihood_se", "test_elbo"):
        assert final_two[k] == pytest.approx(final_one[k], rel=1e-5), k

    # the 2-process checkpoint at step 10 restores in 1 process, and the other way round
    to_one = run_one(rewind(two, tmp_path / "two_then_one", 10))
    assert to_one.returncode == 0 and "Resuming from step 10" in to_one.stdout, to_one.stderr[-3000:]
    assert_same_params(reference, params_of(tmp_path / "two_then_one"), atol=1e-6, rtol=1e-6)
    to_two = run_two(rewind(tmp_path / "one", tmp_path / "one_then_two", 10))
    assert all(r.returncode == 0 for r in to_two), to_two[0].stderr[-3000:] + to_two[1].stderr[-3000:]
    assert "Resuming from step 10" in to_two[0].stdout
    assert_same_params(reference, params_of(tmp_path / "one_then_two"), atol=1e-6, rtol=1e-6)
