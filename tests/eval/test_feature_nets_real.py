"""Integration: the in-repo feature classifiers reach the accuracy the metrics
rely on, and real MNIST test images vs the training set give an FID near 0,
i.e. at the level of two disjoint sets of training images (skipped when
../shared/data is absent)."""

import numpy as np
import pytest

from experiments import overrides
from experiments.configs import classifier
from jaxgen import data as data_lib
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import features, metrics
from jaxgen.eval.options import default_options
from jaxgen.run import train_and_evaluate
from jaxgen.run.evaluate import evaluate, real_data_config
from jaxgen.run.features import load_classifier


@pytest.mark.integration
def test_feature_classifiers_on_real_data(shared_data, shared_tfds_dir, tmp_path):
    accuracy = {}
    for name in ("mnist", "fashion_mnist"):
        config = overrides.apply(classifier.get_config(name), {
            "data.dir": str(shared_data), "data.tfds_dir": str(shared_tfds_dir), "train.progress": False})
        accuracy[name] = train_and_evaluate(config, str(tmp_path / name))["test_accuracy"]
    assert accuracy["mnist"] >= 0.99 and accuracy["fashion_mnist"] >= 0.90, accuracy

    n = 10_000
    options = default_options()
    options.update({"metrics": ("fid", "precision_recall"), "feature_net": str(tmp_path / "mnist"), "num_samples": n})
    real = real_data_config({"name": "mnist", "dir": str(shared_data), "tfds_dir": str(shared_tfds_dir)})
    floor = evaluate(options, str(tmp_path / "floor"), real_data=real, progress=False)["metrics"]
    # Sampling-noise level under the same protocol: the same reference vs n other training images.
    loaded = data_lib.load(real)
    train = to_model_input(loaded.train["x"], loaded.scale)
    ref = np.random.default_rng(0).choice(len(train), n, replace=False)  # the protocol's reference draw
    others = np.setdiff1d(np.arange(len(train)), ref)[:n]
    net = load_classifier(str(tmp_path / "mnist"))
    noise = metrics.fid(features.embed(net, train[ref])[1], features.embed(net, train[others])[1])
    assert floor["fid"] < 2 * noise, (floor, noise)
    assert floor["precision"] > 0.8 and floor["recall"] > 0.8, floor
