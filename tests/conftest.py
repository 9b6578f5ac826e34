"""Test helpers: paths to the real datasets (integration tests only) and the repo root."""

import importlib
import os
import pathlib
import tempfile

# A persistent XLA compilation cache shared by the test processes (both xdist workers and the
# launcher subprocesses inherit it): the same program compiled by two tests is compiled once.
# Set before jax is imported anywhere; an explicit JAX_COMPILATION_CACHE_DIR wins.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jaxgen-test-xla-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED_DATA = pathlib.Path(os.environ.get("JAXGEN_DATA_DIR") or REPO.parent / "shared" / "data")


@pytest.fixture
def shared_data() -> pathlib.Path:
    """The directory of original idx files; skips the test when it is absent."""
    if not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real datasets not found in {SHARED_DATA} (set JAXGEN_DATA_DIR)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_tfds_dir(tmp_path_factory) -> pathlib.Path:
    """One TFDS directory for every integration test of a session: MNIST and
    Fashion-MNIST are prepared from the idx files once, by the first test that loads them."""
    return tmp_path_factory.mktemp("tfds")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """smoke_run(module, variant) -> (workdir, final metrics) of `experiments/configs/MODULE.py:VARIANT`,
    trained once per session: the tests that read a trained smoke run share it (read-only)."""
    cache = {}

    def get(module: str, variant: str):
        if (module, variant) not in cache:
            from jaxgen.run import train_and_evaluate

            config = importlib.import_module(f"experiments.configs.{module}").get_config(variant)
            workdir = tmp_path_factory.mktemp(f"{module}_{variant}")
            cache[(module, variant)] = (workdir, train_and_evaluate(config, str(workdir)))
        return cache[(module, variant)]

    return get
