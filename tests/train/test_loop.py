"""The training path: smoke run through the launcher, 1 vs 4 devices (jit and
pmap), kill-and-resume, broken-checkpoint fallback, NaN stop, sweeps."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO, timeout
from tests.train.helpers import assert_same_params, launch_args, params_of, run


def test_smoke_run_through_launcher_writes_artefacts(tmp_path):
    workdir, cache = tmp_path / "run", tmp_path / "xla-cache"
    result = run(launch_args(workdir, "--config.train.num_steps=1", "--config.checkpoint.every_steps=1",
                             f"--compilation_cache={cache}"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(os.listdir(cache)) >= 3  # the step, the evaluation and the sampler, compiled once for a relaunch
    assert "Final metrics: test_log_likelihood=" in result.stdout and "Checkpoints:" in result.stdout
    assert json.loads((workdir / "config.json").read_text())["family"] == "vae"
    lines = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert {line["split"] for line in lines} == {"train", "final"}
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(workdir / "tensorboard"))
    assert (workdir / "samples" / "step_0000001.png").stat().st_size > 0
    assert os.listdir(workdir / "checkpoints") == ["1"]
    final = json.loads((workdir / "final_metrics.json").read_text())
    # both bound the log-probability of discrete data (17 grey levels), so both are <= 0; bits/dim
    # is the bound per pixel in bits (8x8 digits)
    assert final["test_elbo"] < 0 and final["test_log_likelihood"] < 0
    assert final["test_bpd"] == pytest.approx(-final["test_log_likelihood"] / (64 * math.log(2)), rel=1e-9)
    saved = json.loads((workdir / "likelihood.json").read_text())
    assert saved["kind"] == "lower_bound" and saved["settings"] == {"k": 8}
    assert saved["test"]["num_bins"] == 17 and saved["test"]["test_examples"] == 100


@pytest.mark.slow
def test_one_device_equals_four_devices_jit_and_pmap(tmp_path):
    steps = ["--config.train.num_steps=3", "--config.checkpoint.every_steps=0"]
    runs = {
        "one": (["--config.train.num_devices=1"], 1),
        "jit4": (["--config.train.parallel=jit"], 4),
        "pmap4": (["--config.train.parallel=pmap"], 4),
    }
    params = {}
    for name, (flags, devices) in runs.items():
        result = run(launch_args(tmp_path / name, *steps, *flags), devices=devices)
        assert result.returncode == 0, result.stderr[-3000:]
        params[name] = params_of(tmp_path / name)
    assert_same_params(params["one"], params["jit4"], atol=1e-5, rtol=1e-5)
    assert_same_params(params["one"], params["pmap4"], atol=1e-5, rtol=1e-5)


def test_killed_run_resumes_to_the_same_params(tmp_path):
    """Killed (SIGKILL) right after its checkpoint at step 20 of 30, by a hook at that step, the
    run resumes there and ends with the parameters of an uninterrupted run."""
    from experiments import overrides
    from experiments.configs import vae
    from jaxgen.run import train_and_evaluate

    settings = {"train.num_steps": 30, "checkpoint.every_steps": 10, "checkpoint.keep": 2, "train.log_every": 10}
    train_and_evaluate(overrides.apply(vae.get_config("smoke"), settings), str(tmp_path / "full"))
    killed = tmp_path / "killed"
    result = run([sys.executable, "-m", "tests.train.kill_at", "vae", "smoke", str(killed), "20",
                  *(f"{k}={v}" for k, v in settings.items())])
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert sorted(int(s) for s in os.listdir(killed / "checkpoints") if s.isdigit()) == [10, 20]
    assert not (killed / "final_metrics.json").exists()
    resumed = run(launch_args(killed, *(f"--config.{k}={v}" for k, v in settings.items())))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from step 20" in resumed.stdout
    assert_same_params(params_of(tmp_path / "full"), params_of(killed), atol=1e-6, rtol=1e-6)


def test_unreadable_latest_checkpoint_falls_back_to_previous(tmp_path):
    flags = ["--config.train.num_steps=6", "--config.checkpoint.every_steps=2"]
    ok = run(launch_args(tmp_path / "ref", *flags))
    assert ok.returncode == 0, ok.stderr[-3000:]
    shutil.copytree(tmp_path / "ref", tmp_path / "run")  # a finished run, as the reference
    # Simulate a crash that corrupted the newest checkpoint (6) and left 4 intact.
    for root, _, files in os.walk(tmp_path / "run" / "checkpoints" / "6"):
        for f in files:
            with open(os.path.join(root, f), "w") as fh:
                fh.write("garbage")
    again = run(launch_args(tmp_path / "run", *flags))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "unreadable" in again.stdout and "Resuming from step 4" in again.stdout
    assert (tmp_path / "run" / "checkpoints_broken" / "6").exists()  # kept, not deleted
    assert_same_params(params_of(tmp_path / "ref"), params_of(tmp_path / "run"))


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    from experiments import overrides
    from experiments.configs import vae
    from jaxgen.run import train_and_evaluate
    from jaxgen.train.stepped import NonFiniteLossError

    config = overrides.apply(vae.get_config("smoke"), {"optim.lr": 1e35, "train.num_steps": 20,
                                                        "checkpoint.every_steps": 1, "train.log_every": 1})
    with pytest.raises(NonFiniteLossError, match="NaN/Inf at step"):
        train_and_evaluate(config, str(tmp_path))
    from jaxgen.train.checkpoint import load_latest

    state, _, step = load_latest(tmp_path)
    assert step < 20
    import jax
    import numpy as np

    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state["params"]))


def test_sweep_product_writes_one_table(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.sweep", "--config=experiments/configs/vae.py:smoke",
         f"--workdir={tmp_path}", "--set=optim.lr=1e-3,3e-3", "--set=model.latent_dim=2,3",
         "--config.train.num_steps=2"],
        cwd=REPO, capture_output=True, text=True, timeout=timeout(), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "sweep_results.md").read_text().splitlines()
    assert len(table) == 2 + 4 and "test_log_likelihood" in table[0] and "optim.lr" in table[0]
    assert len((tmp_path / "sweep_results.csv").read_text().splitlines()) == 5
    assert len([d for d in os.listdir(tmp_path) if d[:3].isdigit()]) == 4


def test_sweep_checks_every_run_before_starting(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.sweep", "--config=experiments/configs/vae.py:smoke",
         f"--workdir={tmp_path / 'sw'}", "--set=data.batch_size=32,-1"],
        cwd=REPO, capture_output=True, text=True, timeout=timeout(), check=False)
    assert result.returncode != 0 and "config.data.batch_size=-1" in result.stderr
    assert not (tmp_path / "sw").exists()


def test_sweep_names_a_bad_key_or_value_in_one_line_before_any_run(tmp_path):
    for setting, message in (("--set=optim.lrr=1,2", "config.optim.lrr: no such key"),
                             ("--set=optim.lr=-1,1e-3", "config.optim.lr=-1.0: must be positive")):
        result = subprocess.run(
            [sys.executable, "-m", "experiments.sweep", "--config=experiments/configs/vae.py:smoke",
             f"--workdir={tmp_path / 'sweep'}", setting], cwd=REPO, capture_output=True, text=True, timeout=timeout(),
            check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "sweep").exists()
