"""Integration on real MNIST: the in-repo feature classifier learns on the real files, and real
test images against the training set give an FID at the level of two disjoint sets of training
images (the floor every leaderboard row is read against). The fully trained classifiers'
accuracies (MNIST >= 0.99, Fashion-MNIST >= 0.90) are benchmarks: BENCHMARKS.md, "Evaluation"."""

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


@pytest.mark.slow
@pytest.mark.integration("mnist")
def test_feature_classifier_and_the_real_data_floor(shared_data, shared_tfds_dir, tmp_path):
    data = {"dir": str(shared_data), "tfds_dir": str(shared_tfds_dir)}
    config = overrides.apply(classifier.get_config("mnist"), {
        **{f"data.{k}": v for k, v in data.items()}, "train.num_steps": 300, "train.progress": False})
    assert train_and_evaluate(config, str(tmp_path / "net"))["test_accuracy"] >= 0.95

    n = 2_000
    options = default_options()
    options.update({"metrics": ("fid", "precision_recall"), "feature_net": str(tmp_path / "net"), "num_samples": n})
    real = real_data_config({"name": "mnist", **data})
    floor = evaluate(options, str(tmp_path / "floor"), real_data=real, progress=False)["metrics"]
    # Sampling-noise level under the same protocol: the same reference vs n other training images.
    loaded = data_lib.load(real)
    train = to_model_input(loaded.train["x"], loaded.scale)
    ref = np.random.default_rng(0).choice(len(train), n, replace=False)  # the protocol's reference draw
    others = np.setdiff1d(np.arange(len(train)), ref)[:n]
    net = load_classifier(str(tmp_path / "net"))
    noise = metrics.fid(features.embed(net, train[ref])[1], features.embed(net, train[others])[1])
    # a different distribution is far above both: the same training images shifted by 3 pixels
    shifted = metrics.fid(features.embed(net, train[ref])[1], features.embed(net, np.roll(train[others], 3, 2))[1])
    # (measured: floor 5.2, noise 1.5, shifted 36.2; n = 2,000 samples bias the FID of a
    # 300-step net's features upwards, the fully trained net's floor is at the noise level)
    assert floor["fid"] < 5 * noise and floor["fid"] < 0.25 * shifted, (floor, noise, shifted)
    assert floor["precision"] > 0.8 and floor["recall"] > 0.8, floor
