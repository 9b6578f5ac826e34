"""Preemption: a stop signal sent to a running smoke run makes it write a checkpoint at the step
it is on, flush its metrics and exit with status 75; relaunched, it resumes there and ends with
the parameters of an uninterrupted run. The guard's handlers on their own."""

import json
import os
import signal
import subprocess
import time

import pytest

from jaxgen.train import preemption
from tests.conftest import REPO, timeout
from tests.train.helpers import assert_same_params, launch_args, params_of, run, subprocess_env

SETTINGS = {"train.num_steps": 1500, "checkpoint.every_steps": 0, "train.log_every": 10, "eval.every_steps": 0}


def test_sigterm_checkpoints_the_current_step_and_the_relaunch_resumes_exactly(tmp_path):
    from experiments import overrides
    from experiments.configs import vae
    from jaxgen.run import train_and_evaluate

    flags = [f"--config.{k}={v}" for k, v in SETTINGS.items()]
    workdir = tmp_path / "preempted"
    proc = subprocess.Popen(launch_args(workdir, *flags), cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    metrics, deadline = workdir / "metrics.jsonl", time.monotonic() + timeout()
    while not (metrics.exists() and metrics.read_text().count("\n") >= 2):  # training, past step 20
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=timeout())
    assert proc.returncode == preemption.EXIT_CODE, err[-3000:]
    steps = [int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit()]
    assert len(steps) == 1 and 20 <= steps[0] < SETTINGS["train.num_steps"], steps  # not a periodic checkpoint
    assert f"stopped by SIGTERM after step {steps[0]}" in out and not (workdir / "final_metrics.json").exists()
    logged = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert logged[-1]["step"] == steps[0]  # the metrics up to the stop are flushed

    resumed = run(launch_args(workdir, *flags))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from step {steps[0]}" in resumed.stdout
    train_and_evaluate(overrides.apply(vae.get_config("smoke"), SETTINGS), str(tmp_path / "uninterrupted"))
    assert_same_params(params_of(tmp_path / "uninterrupted"), params_of(workdir), atol=1e-6, rtol=1e-6)


def test_guard_flags_sigint_a_second_one_interrupts_and_handlers_are_restored():
    calls = []
    before = signal.signal(signal.SIGUSR2, lambda signum, frame: calls.append(signum))
    # Python's own SIGINT handler, whatever this process inherited (a background shell ignores SIGINT)
    sigint_before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        guard = preemption.Guard()
        with guard.installed():
            assert not guard.requested(0)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # delivered at the next bytecode boundary
            assert guard.requested(1) and guard.signal_name == "SIGINT"
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        guard = preemption.Guard()
        with guard.installed():
            os.kill(os.getpid(), signal.SIGUSR2)
            time.sleep(0.01)
            assert guard.requested(2) and calls == []  # the earlier handler waits for the checkpoint
        guard.chain()  # ... and is called after it (submitit's requeue)
        assert calls == [signal.SIGUSR2]
    finally:
        signal.signal(signal.SIGUSR2, before)
        signal.signal(signal.SIGINT, sigint_before)


def test_launcher_refuses_partial_distributed_flags():
    result = subprocess.run([*launch_args("/nonexistent", "--distributed", "--num_processes=2")], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout(), check=False)
    assert result.returncode == 1 and "missing --coordinator_address, --process_id" in result.stderr
