"""Test helpers: paths to the real datasets (integration tests only) and the repo root."""

import importlib
import json
import os
import pathlib
import shutil
import tempfile
from typing import NamedTuple

# A persistent XLA compilation cache shared by the test processes (both xdist workers and the
# launcher subprocesses inherit it): the same program compiled by two tests is compiled once.
# Set before jax is imported anywhere; an explicit JAX_COMPILATION_CACHE_DIR wins.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jaxgen-test-xla-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# Tests check values, not speed: XLA:CPU without its backend optimisations compiles the suite's
# many small programs about twice as fast (most of a cold run is compilation), and every test
# process (launcher subprocesses included, tests/train/helpers.py) compiles the same way.
TEST_XLA_FLAGS = "--xla_backend_optimization_level=0"
if TEST_XLA_FLAGS not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {TEST_XLA_FLAGS}".strip()

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


def timeout(seconds: float = 300.0) -> float:
    """A subprocess time limit that scales with the machine's load (a loaded machine is slow,
    not broken) and with $JAXGEN_TEST_TIMEOUT_SCALE; a hung process still fails, eventually."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * max(1.0, load) * float(os.environ.get("JAXGEN_TEST_TIMEOUT_SCALE", "1"))


SHARED_DATA = pathlib.Path(os.environ.get("JAXGEN_DATA_DIR") or REPO.parent / "shared" / "data")


IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def shared_data(request) -> pathlib.Path:
    """The directory of original idx files. A test marked `integration("mnist", "fashion_mnist")`
    is skipped, naming the missing files, unless every file of every dataset it names is there."""
    marker = request.node.get_closest_marker("integration")
    if marker is None or not marker.args:
        raise ValueError(f"{request.node.name}: mark it @pytest.mark.integration(DATASET, ...) to use shared_data")
    missing = [f"{name}/{f}" for name in marker.args for f in IDX_FILES if not (SHARED_DATA / name / f).exists()]
    if missing:
        pytest.skip(f"real data not found in {SHARED_DATA} (set JAXGEN_DATA_DIR): {', '.join(missing)}")
    return SHARED_DATA


def _shared_root(tmp_path_factory, worker_id) -> pathlib.Path:
    """A directory every xdist worker of this session sees (the session's base temp otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def _tfds_root(tmp_path_factory, worker_id) -> pathlib.Path:
    root = _shared_root(tmp_path_factory, worker_id) / "tfds"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture
def shared_tfds_dir(_tfds_root, shared_data, request) -> pathlib.Path:
    """One TFDS directory for every integration test of a session, all xdist workers included:
    the datasets the test's integration marker names are prepared from the idx files once, by
    the first test that needs them (the others wait on a file lock)."""
    from filelock import FileLock

    from jaxgen import data as data_lib
    from jaxgen.run.evaluate import real_data_config

    for name in request.node.get_closest_marker("integration").args:
        with FileLock(str(_tfds_root / f"{name}.lock")):
            done = _tfds_root / f"{name}.prepared"
            if not done.exists():
                data_lib.load(real_data_config({"name": name, "dir": str(shared_data), "tfds_dir": str(_tfds_root)}))
                done.touch()
    return _tfds_root


class SmokeRun(NamedTuple):
    workdir: pathlib.Path
    metrics: dict  # the run's final metrics
    reads: set  # (dotted config key, reading module) of every read while it ran (tests/run/config_reads.py)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, worker_id):
    """smoke_run(module, variant) -> SmokeRun of `experiments/configs/MODULE.py:VARIANT`, trained once
    per test session and shared, read-only, by every test and every xdist worker that asks for
    it: the first to ask trains it under a file lock, the others wait for it and read it."""
    from filelock import FileLock

    from tests.run.config_reads import recording

    root = _shared_root(tmp_path_factory, worker_id) / "smoke_runs"
    root.mkdir(exist_ok=True)

    def get(module: str, variant: str) -> SmokeRun:
        workdir = root / f"{module}_{variant}"
        record = root / f"{module}_{variant}.json"  # written once the run has finished
        with FileLock(str(root / f"{module}_{variant}.lock")):
            if not record.exists():
                from jaxgen.run import train_and_evaluate

                shutil.rmtree(workdir, ignore_errors=True)  # what a crashed worker left
                config = importlib.import_module(f"experiments.configs.{module}").get_config(variant)
                with recording(config) as reads:
                    metrics = train_and_evaluate(config, str(workdir))
                record.write_text(json.dumps({"metrics": metrics, "reads": sorted(reads)}))
        saved = json.loads(record.read_text())
        return SmokeRun(workdir, saved["metrics"], {tuple(r) for r in saved["reads"]})

    return get
