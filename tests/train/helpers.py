"""Shared helpers for training-path tests."""

import os
import subprocess
import sys

import jax
import numpy as np

from tests.conftest import REPO, TEST_XLA_FLAGS, timeout


def launch_args(workdir, *overrides, config="experiments/configs/vae.py:smoke"):
    return [sys.executable, "-m", "experiments.launch", f"--config={config}", f"--workdir={workdir}", *overrides]


def subprocess_env(devices: int = 1) -> dict:
    """The environment of a launcher subprocess on `devices` fake CPU devices."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices} {TEST_XLA_FLAGS}",
               JAX_PLATFORMS="cpu")
    if devices > 1:
        # Executables with cross-device collectives loaded from the persistent compilation cache
        # hung in XLA:CPU's all-reduce rendezvous (2 of 8 launches here): those compile afresh,
        # fully optimised.
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def run(args, devices: int = 1, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=subprocess_env(devices), capture_output=True, text=True,
                          timeout=timeout(), check=False, **kw)


def params_of(workdir) -> list[np.ndarray]:
    from jaxgen.train.checkpoint import load_latest

    state, _, _ = load_latest(workdir)
    return [np.asarray(x) for x in jax.tree.leaves(state["params"])]


def assert_same_params(a, b, atol=1e-6, rtol=1e-6):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=atol, rtol=rtol)
