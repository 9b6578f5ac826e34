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
