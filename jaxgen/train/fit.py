"""The documented sibling of the training loop for models fitted in one call.

  python -m experiments.launch --config experiments/configs/gmm.py:digits --workdir runs/gmm_digits

`fit_and_evaluate(config, workdir)` runs a family of the fit table (jaxgen/families/fits.py:
EM, Baum-Welch, closed forms, greedy RBM stacks) with everything the loop gives a run: the
config checks before anything is written, TFDS / idx data, config.json, progress rows in
metrics.jsonl and TensorBoard as the fit goes, the params as an Orbax checkpoint, a PNG grid
(or scatter) of samples, final_metrics.json and any tables the fitter makes. A workdir that
already holds a finished fit is not refitted: delete it (or pass another) to fit again.
"""

import json
import os
import time

import flax.serialization
import jax
import numpy as np

import jaxgen
from jaxgen import data as data_lib
from jaxgen import rng as rng_lib
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import images
from jaxgen.families.fit_base import FitData
from jaxgen.families.fits import FITS
from jaxgen.train import config_checks
from jaxgen.train.checkpoint import Checkpointer
from jaxgen.train.writers import MetricWriter


def fit_data(config, loaded) -> FitData:
    """Flattened float32 splits in [0, 1] (images) or raw (2-D data); binarised once per split
    (pixel on with its intensity as probability, seeds (config.seed, 0) and (config.seed, 1))
    when config.data.binarize."""

    def prepare(split, stream):
        x = to_model_input(split["x"], loaded.scale).reshape(len(split["x"]), -1)
        if config.data.binarize:
            x = (np.random.default_rng([config.seed, stream]).random(x.shape) < x).astype(np.float32)
        return x, split.get("label")

    (x, y), (xt, yt) = prepare(loaded.train, 0), prepare(loaded.test, 1)
    return FitData(x, y, xt, yt, tuple(loaded.spec.shape), loaded.spec.num_classes)


def _write_samples(path: str, samples: np.ndarray, shape, test_x, writer: MetricWriter) -> None:
    if len(shape) == 3:
        grid = images.save_image_grid(path, samples, upscale=images.grid_upscale(shape[0]))
    else:
        grid = images.save_scatter(path, samples, reference=test_x[:2000])
    writer.write_image(1, "samples", grid)


def fit_and_evaluate(config, workdir: str) -> dict[str, float]:
    """Fit `config` (a family of FITS) in `workdir`; returns the final metrics."""
    config_checks.check(config)
    final_path = os.path.join(workdir, "final_metrics.json")
    if os.path.exists(final_path):
        print(f"{workdir} already holds a finished fit ({final_path}); delete it to fit again")
        with open(final_path) as f:
            return json.load(f)
    loaded = data_lib.load(config.data)
    data = fit_data(config, loaded)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    writer = MetricWriter(workdir)
    t0 = time.perf_counter()

    def report(step: int, metrics: dict) -> None:
        metrics = {**metrics, "seconds": time.perf_counter() - t0}
        writer.write(step, "fit", metrics)
        if config.train.progress:
            print(f"[{config.family} {step}] " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

    result = FITS[config.family].fit(config, data, rng_lib.stream(jax.random.key(config.seed), "fit"), report)
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
