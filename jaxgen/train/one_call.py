"""The one-call engine: models fitted by closed forms or EM, not by a stream of minibatch updates.

  python -m experiments.launch --config experiments/configs/gmm.py:digits --workdir runs/gmm_digits

The run shell (jaxgen/run/) checks the config, loads the data and calls `fit_and_evaluate(config,
workdir, family, loaded, test)` for a family whose table entry names this engine. It gives the
fit what the stepped engine gives a run: progress rows in metrics.jsonl and TensorBoard as the
fit goes, the params as an Orbax checkpoint, the test log-likelihood under the protocol (the
same evaluator as stepped families, written with its protocol to likelihood.json), a PNG grid
(or scatter) of samples, final_metrics.json and any tables the fitter makes. A workdir that
already holds a finished fit is not refitted (`finished`): delete it (or pass another) to fit
again. Knows no family by name.
"""

import dataclasses
import json
import os
import time
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
from jaxgen.eval import likelihood as likelihood_lib
from jaxgen.train.checkpoint import Checkpointer
from jaxgen.train.writers import MetricWriter

EVAL_BATCH = 1_000  # test examples per likelihood batch


@dataclasses.dataclass(frozen=True)
class FitData:
    x: np.ndarray  # [N, D] float32 training examples, flattened (images in [0, 1], binarised or dequantised)
    y: np.ndarray | None  # [N] labels, None when unlabelled
    x_test: np.ndarray  # [M, D] the protocol's test set, flattened the same way
    y_test: np.ndarray | None
    shape: tuple[int, ...]  # one example's shape before flattening
    num_classes: int


@dataclasses.dataclass(frozen=True)
class FitResult:
    params: Any  # pytree of arrays (flax struct dataclasses): the checkpointed model
    metrics: dict[str, float]  # fit-specific metrics (EM iterations, BIC, accuracies, ...)
    samples: np.ndarray | None = None  # [n, *shape] when the family has no sampler of its own
    tables: dict[str, str] = dataclasses.field(default_factory=dict)  # file name -> markdown written to the workdir


def fit_data(config, loaded, test: protocol.TestSet, dequantize: bool = False) -> FitData:
    """Flattened float32 training examples in [0, 1] (images) or raw (2-D data) beside the
    protocol's test set `test`. With config.data.binarize the training split is binarised once
    with seed config.seed (pixel on with its intensity as probability); with `dequantize` its
    levels k become (k + u) / B with u ~ U[0, 1) drawn once with that seed (a density fitted to
    them bounds the discrete likelihood, jaxgen/data/protocol.py)."""
    stored = loaded.train["x"]
    rng = np.random.default_rng([config.seed, 0])
    if dequantize:
        x = protocol.dequantize(stored, loaded.spec.num_bins, rng)
    else:
        x = to_model_input(stored, loaded.scale)
        if config.data.binarize:
            x = (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)
    flat = lambda a: a.reshape(len(a), -1)
    return FitData(flat(x), loaded.train.get("label"), flat(test.x), test.label, tuple(loaded.spec.shape),
                   loaded.spec.num_classes)


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


def fit_and_evaluate(config, workdir: str, family, loaded: data_lib.Loaded, test: protocol.TestSet
                     ) -> dict[str, float]:
    """Fit `family` (a jaxgen.families.base.OneCallFamily built from `config`) on `loaded` in
    `workdir`, measure its test log-likelihood on `test`; returns the final metrics."""
    final_path = os.path.join(workdir, "final_metrics.json")
    data = fit_data(config, loaded, test, family.dequantize)
    os.makedirs(workdir, exist_ok=True)
    writer = MetricWriter(workdir)
    key = jax.random.key(config.seed)
    t0 = time.perf_counter()

    def report(step: int, metrics: dict) -> None:
        metrics = {**metrics, "seconds": time.perf_counter() - t0}
        writer.write(step, "fit", metrics)
        if config.train.progress:
            print(f"[{config.family} {step}] " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

    result = family.fit(data, rng_lib.stream(key, "fit"), report)
    metrics = {**result.metrics, "fit_seconds": time.perf_counter() - t0}
    spec = family.likelihood(True) if family.likelihood is not None else None
    if spec is not None:
        lik = likelihood_lib.evaluate(spec, jax.jit(spec.log_prob), result.params, test, test.batches(EVAL_BATCH),
                                      rng_lib.stream(key, "likelihood"))
        metrics.update(lik.metrics())
        with open(os.path.join(workdir, "likelihood.json"), "w") as f:
            json.dump(lik.to_json(), f, indent=2)
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), 0, 1)
    ckpt.save(1, flax.serialization.to_state_dict(result.params),
              {"step": 1, "family": config.family, "jaxgen": jaxgen.__version__})
    ckpt.close()
    writer.write(1, "final", metrics)
    paths = {"Metrics": os.path.join(workdir, "metrics.jsonl"), "Checkpoint": ckpt.directory}
    samples = result.samples
    if family.sample is not None:
        samples = np.asarray(family.sample(result.params, rng_lib.stream(key, "sample"), config.eval.num_samples))
    if samples is not None:
        paths["Samples"] = os.path.join(workdir, "samples.png")
        _write_samples(paths["Samples"], samples, data.shape, test.x, writer)
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
