"""What a run leaves in its workdir for later commands: config.json and data_spec.json."""

import dataclasses
import json
import os

import jax
import ml_collections

from jaxgen.data.pipeline import DataSpec
from jaxgen.data.protocol import TestSet


def write(workdir: str, config, spec: DataSpec, test: TestSet) -> None:
    """config.json (the resolved config), data_spec.json (what evaluation needs of the data) and
    test_set.json (the likelihood protocol's test set: data, checksum, binarisation, size),
    written by the main process of a multi-process run."""
    os.makedirs(workdir, exist_ok=True)
    if jax.process_index() != 0:
        return
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    with open(os.path.join(workdir, "data_spec.json"), "w") as f:
        json.dump(dataclasses.asdict(spec), f, indent=2)
    with open(os.path.join(workdir, "test_set.json"), "w") as f:
        json.dump(test.describe(), f, indent=2)


def load_config(workdir: str, what: str = "workdir") -> ml_collections.ConfigDict:
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} {workdir!r} has no config.json: not a jaxgen run")
    with open(path) as f:
        return ml_collections.ConfigDict(json.load(f))


def final_metrics(workdir: str) -> dict | None:
    """final_metrics.json of a finished run (None while it has not finished)."""
    path = os.path.join(workdir, "final_metrics.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def load_test_set(workdir: str) -> dict:
    """The protocol test set a run was measured on, as written (TestSet.describe())."""
    with open(os.path.join(workdir, "test_set.json")) as f:
        return json.load(f)


def load_spec(workdir: str) -> DataSpec:
    path = os.path.join(workdir, "data_spec.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"workdir {workdir!r} has no data_spec.json: not a finished jaxgen run")
    with open(path) as f:
        fields = json.load(f)
    return DataSpec(**{**fields, "shape": tuple(fields["shape"]), "token_chars": tuple(fields.get("token_chars", ()))})
