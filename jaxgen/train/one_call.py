"""The one-call engine: models fitted by closed forms or EM, not by a stream of minibatch updates.

  python -m experiments.launch --config experiments/configs/gmm.py:digits --workdir runs/gmm_digits

The run shell (jaxgen/run/) checks the config, loads the data and calls `fit_and_evaluate(config,
workdir, fitter, loaded)` for a family whose table entry names this engine (EM, Baum-Welch,
closed forms). It gives the fit what the stepped engine gives a run: progress rows in
metrics.jsonl and TensorBoard as the fit goes, the params as an Orbax checkpoint, a PNG grid (or
scatter) of samples, final_metrics.json and any tables the fitter makes. A workdir that already
holds a finished fit is not refitted (`finished`): delete it (or pass another) to fit again.
Knows no family by name.
"""

import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import Any

import flax.serialization
import jax
import numpy as np

import jaxgen
from jaxgen import data as data_lib
from jaxgen import rng as rng_lib
from jaxgen.data import protocol
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import images
from jaxgen.train.checkpoint import Checkpointer
from jaxgen.train.writers import MetricWriter


@dataclasses.dataclass(frozen=True)
class FitData:
    x: np.ndarray  # [N, D] float32 training examples, flattened (images in [0, 1], or binarised)
    y: np.ndarray | None  # [N] labels, None when unlabelled
    x_test: np.ndarray
    y_test: np.ndarray | None
    shape: tuple[int, ...]  # one example's shape before flattening
    num_classes: int


@dataclasses.dataclass(frozen=True)
class FitResult:
    params: Any  # pytree of arrays (flax struct dataclasses): the checkpointed model
    metrics: dict[str, float]  # final metrics, e.g. mean test log-likelihood in nats
    samples: np.ndarray | None = None  # [n, *shape] in [0, 1] for images, raw for 2-D data
    tables: dict[str, str] = dataclasses.field(default_factory=dict)  # file name -> markdown written to the workdir


Fitter = Callable[..., FitResult]  # (config, FitData, key, report) -> FitResult


def fit_data(config, loaded) -> FitData:
    """Flattened float32 splits in [0, 1] (images) or raw (2-D data). With config.data.binarize
    the training split is binarised once with seed config.seed (pixel on with its intensity as
    probability) and the test split is the likelihood protocol's fixed binarisation
    (jaxgen/data/protocol.py), the same for every family and seed."""
    x = to_model_input(loaded.train["x"], loaded.scale).reshape(len(loaded.train["x"]), -1)
    if config.data.binarize:
        x = (np.random.default_rng([config.seed, 0]).random(x.shape) < x).astype(np.float32)
    test = protocol.test_set(loaded.test, loaded.scale, config.data.name, config.data.binarize, loaded.spec.num_bins)
    return FitData(x, loaded.train.get("label"), test.x.reshape(test.num_examples, -1), test.label,
                   tuple(loaded.spec.shape), loaded.spec.num_classes)


def _write_samples(path: str, samples: np.ndarray, shape, test_x, writer: MetricWriter) -> None:
    if len(shape) == 3:
        grid = images.save_image_grid(path, samples, upscale=images.grid_upscale(shape[0]))
    else:
        grid = images.save_scatter(path, samples, reference=test_x[:2000])
    writer.write_image(1, "samples", grid)


def finished(workdir: str) -> dict[str, float] | None:
    """The final metrics of a finished fit in `workdir`, or None."""
    final_path = os.path.join(workdir, "final_metrics.json")
    if not os.path.exists(final_path):
        return None
    print(f"{workdir} already holds a finished fit ({final_path}); delete it to fit again")
    with open(final_path) as f:
        return json.load(f)


def fit_and_evaluate(config, workdir: str, fitter: Fitter, loaded: data_lib.Loaded) -> dict[str, float]:
    """Fit `config` with `fitter` on `loaded` in `workdir`; returns the final metrics."""
    final_path = os.path.join(workdir, "final_metrics.json")
    data = fit_data(config, loaded)
    os.makedirs(workdir, exist_ok=True)
    writer = MetricWriter(workdir)
    t0 = time.perf_counter()

    def report(step: int, metrics: dict) -> None:
        metrics = {**metrics, "seconds": time.perf_counter() - t0}
        writer.write(step, "fit", metrics)
        if config.train.progress:
            print(f"[{config.family} {step}] " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

    result = fitter(config, data, rng_lib.stream(jax.random.key(config.seed), "fit"), report)
    metrics = {**result.metrics, "fit_seconds": time.perf_counter() - t0}
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), 0, 1)
    ckpt.save(1, flax.serialization.to_state_dict(result.params),
              {"step": 1, "family": config.family, "jaxgen": jaxgen.__version__})
    ckpt.close()
    writer.write(1, "final", metrics)
    paths = {"Metrics": os.path.join(workdir, "metrics.jsonl"), "Checkpoint": ckpt.directory}
    if result.samples is not None:
        paths["Samples"] = os.path.join(workdir, "samples.png")
        _write_samples(paths["Samples"], result.samples, data.shape, data.x_test.reshape((-1,) + data.shape), writer)
    for name, text in result.tables.items():
        paths[name] = os.path.join(workdir, name)
        with open(paths[name], "w") as f:
            f.write(text)
        print(text)
    writer.close()
    with open(final_path, "w") as f:  # written last: its presence marks a finished fit
        json.dump(metrics, f, indent=2)
    print("Final metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    for name, path in paths.items():
        print(f"{name}: {path}")
    return metrics
