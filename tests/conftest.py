"""Test helpers: paths to the real datasets (integration tests only) and the repo root."""

import os
import pathlib

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
