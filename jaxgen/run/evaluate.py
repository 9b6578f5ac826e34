"""Evaluate a trained run (or real data, the floor): samples -> features ->
metrics, memorisation, likelihood repeats; writes metrics.json, report.md,
report.html and figures. `python -m experiments.evaluate` and the run shell
(after training, when config.evals.metrics is set) both call `evaluate`.

Protocol: `num_samples` images (generated, or held-out real test images for
the floor) are compared with `num_samples` training images drawn at random
with `seed`; the memorisation check compares `memorization_samples` samples
and as many held-out test images with the whole training set.
"""

import json
import math
import os
import time

import jax
import ml_collections
import numpy as np
from tqdm import tqdm

import jaxgen
from jaxgen import data as data_lib
from jaxgen import rng as rng_lib
from jaxgen.data import sources, toy
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import cas, images, memorization, neighbours, report, suite
from jaxgen.eval import features as features_lib
from jaxgen.eval import likelihood as likelihood_lib
from jaxgen.eval import modes as modes_lib
from jaxgen.eval import options as options_lib
from jaxgen.families import FAMILIES
from jaxgen.run import workdirs
from jaxgen.run.features import load_classifier
from jaxgen.run.shell import protocol_test_set
from jaxgen.train.checkpoint import load_latest
from jaxgen.train.state import evaluation_params


def load_config(workdir: str) -> ml_collections.ConfigDict:
    return workdirs.load_config(workdir)


def build_family(workdir: str, config):
    """What the family table builds for `workdir`'s run (from its config and data spec); a
    one-call family whose params cannot be restored is refused here, before any work."""
    if config.family not in FAMILIES:
        raise ValueError(f"workdir {workdir!r}: config.family={config.family!r} is not a jaxgen family")
    family = FAMILIES[config.family].build(config, workdirs.load_spec(workdir))
    if FAMILIES[config.family].engine == "one_call" and family.restore is None:
        raise ValueError(f"workdir {workdir!r}: family {config.family!r} keeps no model to evaluate (its results are "
                         "in final_metrics.json)")
    return family


def default_metrics(workdir: str | None, feature_net: bool) -> tuple[str, ...]:
    """Every metric that applies: to real data (the floor) the image metrics; to a run the test
    log-likelihood where its family reports one, the image metrics (with a feature net) and
    mode coverage (ring8, grid25) where it samples."""
    if workdir is None:
        return options_lib.NEEDS_FEATURES
    config = load_config(workdir)
    family = build_family(workdir, config)
    out = ("likelihood",) if family.likelihood is not None and family.likelihood(True) is not None else ()
    if family.sample is not None:
        if len(workdirs.load_spec(workdir).shape) == 3 and feature_net:
            out += options_lib.NEEDS_FEATURES
        if config.data.name in toy.MODES:
            out += ("modes",)
    if not out:
        raise ValueError(f"workdir {workdir!r}: no metric applies (give --feature_net for the image metrics)")
    return out


def load_params(workdir: str, config, family) -> tuple[object, int]:
    """The params of `workdir`'s latest checkpoint as its family uses them (EMA entries swapped
    in for a stepped run that keeps them; a one-call fit restored by its family) and the step."""
    state, _, step = load_latest(workdir)
    if FAMILIES[config.family].engine == "one_call":
        return family.restore(state), step
    return evaluation_params(state["params"], state.get("ema_params"), config.eval.use_ema), step


def load_run(workdir: str) -> tuple[ml_collections.ConfigDict, object, object]:
    """(config, family, params) of the finished run in `workdir`: its saved config, the family
    built from it and its data spec, the latest checkpoint's params as the family uses them."""
    config = load_config(workdir)
    family = build_family(workdir, config)
    return config, family, load_params(workdir, config, family)[0]


def real_data_config(real_data) -> ml_collections.ConfigDict:
    """A data section for `real_data`: a dataset name, or a dict / ConfigDict with at
    least 'name' (and optionally 'dir', 'tfds_dir', 'download' as in config.data)."""
    fields = {"name": real_data} if isinstance(real_data, str) else dict(real_data)
    defaults = {"dir": "", "tfds_dir": "", "download": True, "toy_seed": 0, "toy_train_size": 50_000,
                "toy_test_size": 10_000}  # as in experiments/configs/base.py
    return ml_collections.ConfigDict({**defaults, **fields})


def check(options, workdir: str | None, real_data, net_given: bool = False) -> None:
    """Every input error, before anything loads or compiles."""
    if (workdir is None) == (real_data is None):
        raise ValueError("give exactly one of workdir (a trained run) or real_data (a dataset name, the floor)")
    problems = options_lib.errors(options, net_given)
    if problems:
        raise ValueError("; ".join(problems))
    if real_data is not None and not sources.is_known(real_data_config(real_data).name):
        raise ValueError(f"real_data={real_data!r}: not a dataset name (see jaxgen/data/sources.py)")
    if real_data is not None and "likelihood" in options.metrics:
        raise ValueError("metric 'likelihood' needs a trained model, not real_data")


def _generate(family, params, key, n: int, chunk: int, bar, num_classes: int = 0):
    """n samples (and, for a conditional model, their labels: 0, 1, ... cycling; else None)."""
    sample = jax.jit(family.sample, static_argnums=2)
    out, labels = [], []
    for i in range(math.ceil(n / chunk)):
        k = jax.random.fold_in(key, i)
        if num_classes:
            y = (np.arange(chunk) + i * chunk) % num_classes
            out.append(np.asarray(sample(params, k, chunk, jax.numpy.asarray(y))))
            labels.append(y)
        else:
            out.append(np.asarray(sample(params, k, chunk)))
        bar.update(min(chunk, n - i * chunk))
    return np.concatenate(out)[:n], (np.concatenate(labels)[:n] if num_classes else None)


def _likelihood(family, config, loaded, params, key, options, bar) -> dict[str, float]:
    """The family's test log-likelihood under the protocol, `likelihood_repeats` times with
    independent keys: the mean of each metric and its standard error over the repeats."""
    spec = family.likelihood(True)
    if spec is None:
        raise ValueError(f"family {config.family!r} reports no test log-likelihood with this config")
    one_call = FAMILIES[config.family].engine == "one_call"
    test = protocol_test_set(config, loaded, family, options.likelihood_examples or None)
    batch_size = options.batch_size if one_call else config.data.eval_batch_size
    compiled = jax.jit(spec.log_prob)
    runs = []
    for r in range(options.likelihood_repeats):
        result = likelihood_lib.evaluate(spec, compiled, params, test, test.batches(batch_size),
                                         jax.random.fold_in(key, r))
        runs.append(result.metrics())
        bar.update(1)
    out = {}
    for name in runs[0]:
        if name.endswith("_se"):
            continue
        mean, se = suite.mean_and_stderr([r[name] for r in runs])
        out[name], out[f"{name}_repeats_se"] = mean, se
    return out


def evaluate(options, out_dir: str, workdir: str | None = None, real_data=None, progress: bool = True,
             feature_net: features_lib.FeatureNet | None = None, params: tuple | None = None,
             loaded: data_lib.Loaded | None = None, save_arrays: bool = False) -> dict:
    """Evaluate `workdir`'s latest checkpoint (or, with real_data, held-out real
    test images: the floor; see real_data_config) and write metrics.json and the
    report to out_dir. `feature_net` (e.g. features.from_function(...)) replaces
    the classifier named by options.feature_net. During training the run shell passes
    `params` = (params, step) in memory and the `loaded` data. With `save_arrays` and a feature
    net, out_dir/arrays.npz keeps the samples, their features and logits, the reference
    features and the training indices they come from, to recompute or extend any metric."""
    check(options, workdir, real_data, feature_net is not None)
    t0 = time.perf_counter()
    names = tuple(options.metrics)
    if workdir is not None:
        config = load_config(workdir)
        data_config, label = config.data, workdir
        family = build_family(workdir, config)
        if family.sample is None and any(m != "likelihood" for m in names):
            raise ValueError(f"workdir {workdir!r}: family {config.family!r} has no sampler; only 'likelihood' applies")
        if family.likelihood is None and "likelihood" in names:
            raise ValueError(f"workdir {workdir!r}: family {config.family!r} reports no test log-likelihood")
    else:
        config = None
        data_config = real_data_config(real_data)
        label = f"real {data_config.name} test images"
    shape = sources.SHAPES.get(data_config.name)  # None: a tfds:NAME image dataset
    image_only = [m for m in names if m in options_lib.NEEDS_FEATURES or m == "cas"]
    if shape is not None and len(shape) != 3 and image_only:
        raise ValueError(f"metrics {image_only} need image data; {data_config.name!r} has shape {shape}")
    if "cas" in names and (config is None or config.model.get("conditioning", "none") == "none"):
        raise ValueError("metric 'cas' needs a conditional model (config.model.conditioning != 'none')")
    if "modes" in names and data_config.name not in toy.MODES:
        raise ValueError(f"metric 'modes' needs a toy mixture with known modes {tuple(toy.MODES)}, not "
                         f"{data_config.name!r}")
    net = feature_net or (load_classifier(options.feature_net) if options.feature_net else None)
    loaded = loaded or data_lib.load(data_config)
    image = len(loaded.spec.shape) == 3
    os.makedirs(out_dir, exist_ok=True)
    key = jax.random.key(options.seed)
    train = to_model_input(loaded.train["x"], loaded.scale)
    test = to_model_input(loaded.test["x"], loaded.scale)
    n = options.num_samples
    results: dict = {}
    figures: dict[str, str] = {}
    notes: list[str] = []
    bar = tqdm(total=n, desc="samples", disable=not progress, unit="img")
    if workdir is not None:
        params, step = params if params is not None else load_params(workdir, config, family)
        conditional = config.model.get("conditioning", "none") != "none"
        samples, labels = (None, None)
        if family.sample is not None:
            samples, labels = _generate(family, params, rng_lib.stream(key, "samples"), n, options.batch_size, bar,
                                        loaded.spec.num_classes if conditional else 0)
        results["checkpoint_step"] = int(step)
    else:
        if n > len(test):
            raise ValueError(f"num_samples={n}: the {data_config.name} test split has only {len(test)} images")
        samples = test[:n]
        bar.update(n)
    bar.close()
    if samples is not None:
        figures["samples"] = os.path.join(out_dir, "samples.png")
        if image:
            images.save_image_grid(figures["samples"], samples[:100], upscale=images.grid_upscale(samples.shape[1]))
        else:
            images.save_scatter(figures["samples"], samples[:2000], reference=test[:2000])
    if "modes" in names:
        modes_fn, std = toy.MODES[data_config.name]
        min_count = config.eval.get("mode_min_count", 1) if config is not None else 1
        results.update(modes_lib.mode_coverage(samples, modes_fn(), std, min_count=min_count))

    ref_idx = np.random.default_rng(options.seed).choice(len(train), size=min(n, len(train)), replace=False)
    protocol = suite.Protocol(data_config.name, n, f"train[{len(ref_idx)} random, seed {options.seed}]",
                              net.id if net else "none", options.seed, jaxgen.__version__,
                              label if config is None else os.path.abspath(workdir))
    fake_feats = train_feats = None
    if net is not None:
        # The memorisation check needs every training image's features; the reference set is a subset.
        real_images = train if "memorization" in names else train[ref_idx]
        embed_bar = tqdm(total=n + len(real_images), desc="features", disable=not progress, unit="img")
        fake_logits, fake_feats = features_lib.embed(net, samples, options.batch_size)
        embed_bar.update(n)
        _, real_image_feats = features_lib.embed(net, real_images, options.batch_size)
        embed_bar.update(len(real_images))
        embed_bar.close()
        if "memorization" in names:
            train_feats, real_feats = real_image_feats, real_image_feats[ref_idx]
        else:
            real_feats = real_image_feats
        results.update(suite.compute(names, real_feats, fake_feats, fake_logits, rng_lib.stream(key, "kid"),
                                     options.kid_subsets, options.kid_subset_size))
        if save_arrays:
            np.savez_compressed(os.path.join(out_dir, "arrays.npz"), samples=samples, sample_features=fake_feats,
                                sample_logits=fake_logits, reference_features=real_feats, reference_indices=ref_idx)
    if "cas" in names:
        results.update(cas.classification_accuracy_score(
            samples, labels, train, loaded.train["label"], test, loaded.test["label"], loaded.spec.num_classes,
            rng_lib.stream(key, "cas"), options.cas_epochs))
        notes.append(f"cas: classifier trained {options.cas_epochs} epochs on the {n} generated images (labels "
                     f"cycling 0..{loaded.spec.num_classes - 1}), accuracy on the real test split; "
                     "cas_real_ceiling: the same fit on as many real training images")
    if "memorization" in names:
        results.update(_memorization(net, samples, fake_feats, train, train_feats, test, options, out_dir, figures,
                                     progress))
        notes.append("memorization: held-out = real test images; distances to the nearest of all training images")
    if "likelihood" in names:
        lbar = tqdm(total=options.likelihood_repeats, desc="likelihood repeats", disable=not progress)
        results.update(_likelihood(family, config, loaded, params, rng_lib.stream(key, "likelihood"), options, lbar))
        lbar.close()
        examples = options.likelihood_examples or config.eval.get("num_examples", 0) or "all"
        notes.append(f"likelihood: mean and standard error over {options.likelihood_repeats} repeats of the "
                     f"family's final test log-likelihood estimator ({examples} test examples) with independent keys")
    results["seconds"] = time.perf_counter() - t0
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump({"metrics": results, "protocol": protocol.__dict__}, f, indent=2)
    paths = report.write(out_dir, f"Evaluation of {label}", results, protocol, figures, notes)
    return {"metrics": results, "protocol": protocol, "report": paths}


def _memorization(net, samples, sample_feats, train, train_feats, test, options, out_dir, figures,
                  progress) -> dict[str, float]:
    """Nearest-training-neighbour distances of the first samples and as many held-out
    test images, in pixels and (with a feature net) in its feature space."""
    m = min(options.memorization_samples, len(samples), len(test))
    queries, heldout = samples[:m], test[-m:]
    out = {}
    spaces = [("pixels", queries, heldout, train)]
    if net is not None:
        spaces.append(("features", sample_feats[:m], features_lib.embed(net, heldout, options.batch_size)[1],
                       train_feats))
    for space, q, h, reference in tqdm(spaces, desc="memorization", disable=not progress):
        d_q, d_h = memorization.nearest_distances(q, reference), memorization.nearest_distances(h, reference)
        out.update(memorization.summarize(d_q, d_h, space))
        figures[f"nearest-neighbour distances ({space})"] = os.path.join(out_dir, f"nn_distances_{space}.png")
        memorization.save_histogram(figures[f"nearest-neighbour distances ({space})"], d_q, d_h, space)
        grid_path = os.path.join(out_dir, f"nearest_neighbours_{space}.png")
        kw = {} if space == "pixels" else {"sample_features": q[:16], "train_features": reference}
        grid = neighbours.neighbour_grid(queries[:16], train, 3, **kw)
        images.save_image_grid(grid_path, grid, num_cols=4, upscale=images.grid_upscale(samples.shape[1]))
        figures[f"nearest training neighbours ({space})"] = grid_path
    return out
