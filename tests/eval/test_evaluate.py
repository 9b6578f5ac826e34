"""Feature nets, protocol, and the evaluate command on tiny trained runs."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import evaluate as evaluate_cli
from experiments import overrides
from experiments.configs import vae as vae_configs
from jaxgen.eval import features, suite
from jaxgen.eval.options import default_options
from jaxgen.run import evaluate, train_and_evaluate
from jaxgen.run.features import load_classifier


@pytest.fixture(scope="module")
def runs(smoke_run):
    """A feature classifier, a VAE and a DCGAN, each trained a few steps on digits (the
    session's shared smoke runs)."""
    return {name: str(smoke_run(module, "smoke")[0])
            for name, module in (("features", "classifier"), ("vae", "vae"), ("dcgan", "dcgan"))}


def _json(path):
    with open(path) as f:
        return json.load(f)


def _text(path):
    with open(path) as f:
        return f.read()


def _options(feature_net, **kw):
    o = default_options()
    o.feature_net = feature_net
    o.num_samples, o.memorization_samples, o.kid_subsets, o.kid_subset_size = 120, 50, 5, 60
    o.likelihood_repeats = 2
    o.update(kw)
    return o


def test_weights_digest_identifies_weights():
    params = {"a": {"w": jnp.ones((2, 3))}, "b": jnp.arange(4.0)}
    reordered = {"b": jnp.arange(4.0), "a": {"w": jnp.ones((2, 3))}}
    assert features.weights_digest(params) == features.weights_digest(reordered)
    changed = jax.tree.map(lambda x: x, params)
    changed["b"] = changed["b"].at[3].set(3.0000002)
    assert features.weights_digest(changed) != features.weights_digest(params)


def test_classifier_feature_net_loads_and_embeds(runs):
    net = load_classifier(runs["features"])
    assert net.name == "classifier:digits" and len(net.digest) == 64 and net.input_shape == (8, 8, 1)
    x = np.random.default_rng(0).uniform(size=(37, 8, 8, 1))
    logits, feats = features.embed(net, x, batch_size=16)
    assert logits.shape == (37, 10) and feats.shape[0] == 37
    _, feats_one = features.embed(net, x[:1], batch_size=16)  # padding does not change a row
    np.testing.assert_allclose(feats_one[0], feats[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expecting"):
        features.embed(net, np.zeros((2, 28, 28, 1)))


def test_evaluate_writes_report_for_a_vae_and_a_dcgan(runs, tmp_path):
    for name in ("vae", "dcgan"):
        metrics = evaluate_cli.IMAGE_METRICS + (("likelihood",) if name == "vae" else ())
        result = evaluate.evaluate(_options(runs["features"], metrics=metrics), str(tmp_path / name),
                                   workdir=runs[name], progress=False)
        m = result["metrics"]
        for key in ("fid", "kid", "kid_se", "inception_score", "precision", "recall", "density", "coverage",
                    "pixels_nn_median_ratio", "features_nn_median_ratio"):
            assert np.isfinite(m[key]), (name, key)
        assert m["fid"] >= 0 and 1 <= m["inception_score"] <= 10 and 0 <= m["precision"] <= 1
        saved = _json(tmp_path / name / "metrics.json")
        assert saved["protocol"]["feature_net"].startswith("classifier:digits@")
        assert saved["protocol"]["num_samples"] == 120 and saved["metrics"]["fid"] == m["fid"]
        md = _text(tmp_path / name / "report.md")
        assert "fid" in md and "samples.png" in md and os.path.exists(tmp_path / name / "report.html")
        assert os.path.exists(tmp_path / name / "nearest_neighbours_features.png")
    vae = _json(tmp_path / "vae" / "metrics.json")["metrics"]
    assert vae["test_log_likelihood_repeats_se"] >= 0 and vae["test_log_likelihood"] < 0


def test_real_floor_is_small_and_protocols_guard_tables(runs, tmp_path):
    o = _options(runs["features"], metrics=("fid", "kid", "precision_recall"), num_samples=140)
    floor = evaluate.evaluate(o, str(tmp_path / "floor"), real_data="digits", progress=False)
    gan = evaluate.evaluate(o, str(tmp_path / "gan"), workdir=runs["dcgan"], progress=False)
    # Real held-out digits are far closer to the training images than a 4-step DCGAN's samples.
    assert floor["metrics"]["fid"] < 0.2 * gan["metrics"]["fid"]
    table = suite.results_table([("real", floor["protocol"], floor["metrics"]), ("dcgan", gan["protocol"],
                                                                                gan["metrics"])], ["fid", "kid"])
    assert "| real |" in table and "| dcgan |" in table
    other = evaluate.evaluate(_options(runs["features"], metrics=("fid",), num_samples=100), str(tmp_path / "o"),
                              real_data="digits", progress=False)
    with pytest.raises(ValueError, match="different protocol"):
        suite.results_table([("a", floor["protocol"], floor["metrics"]), ("b", other["protocol"], other["metrics"])],
                            ["fid"])


def test_bad_input_is_named_before_work(runs, tmp_path):
    with pytest.raises(ValueError, match="feature_net"):
        evaluate.evaluate(_options("", metrics=("fid",)), str(tmp_path / "x"), workdir=runs["vae"])
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate.evaluate(_options(runs["features"], metrics=("fdi",)), str(tmp_path / "x"), workdir=runs["vae"])
    with pytest.raises(ValueError, match="exactly one"):
        evaluate.evaluate(_options(runs["features"], metrics=("fid",)), str(tmp_path / "x"))
    with pytest.raises(ValueError, match="not a dataset"):
        evaluate.evaluate(_options(runs["features"], metrics=("fid",)), str(tmp_path / "x"), real_data="mnsit")
    with pytest.raises(FileNotFoundError, match="config.json"):
        evaluate.evaluate(_options(runs["features"], metrics=("fid",)), str(tmp_path / "x"), workdir=str(tmp_path))
    assert not os.path.exists(tmp_path / "x")


def test_cli_runs(runs, tmp_path, capsys):
    evaluate_cli.main(["--workdir", runs["dcgan"], "--feature_net", runs["features"], "--out", str(tmp_path / "cli"),
                       "--metrics", "fid,kid", "--num_samples", "100", "--kid_subsets", "3", "--kid_subset_size", "50",
                       "--no_progress"])
    assert "fid" in capsys.readouterr().out and os.path.exists(tmp_path / "cli" / "report.html")


def test_loop_runs_the_configured_evals_after_training(runs, tmp_path):
    config = overrides.apply(vae_configs.get_config("smoke"), {
        "evals.metrics": ("fid", "likelihood"), "evals.feature_net": runs["features"], "evals.num_samples": 50,
        "evals.likelihood_repeats": 2})
    train_and_evaluate(config, str(tmp_path / "run"))
    saved = _json(tmp_path / "run" / "eval" / "metrics.json")
    assert np.isfinite(saved["metrics"]["fid"]) and "test_log_likelihood_repeats_se" in saved["metrics"]
    lines = [json.loads(x) for x in _text(tmp_path / "run" / "metrics.jsonl").splitlines()]
    assert any(x["split"] == "evals" and "fid" in x for x in lines)


def test_cas_separates_true_from_shuffled_labels():
    from sklearn.datasets import load_digits

    from jaxgen.eval import cas

    bunch = load_digits()
    x = (bunch.images / 16.0)[..., None].astype(np.float32)
    y = bunch.target.astype(np.int32)
    train_x, train_y, test_x, test_y = x[:1200], y[:1200], x[1200:], y[1200:]
    key = jax.random.key(0)
    good = cas.classification_accuracy_score(train_x[:600], train_y[:600], train_x, train_y, test_x, test_y, 10, key,
                                             epochs=10)
    shuffled = np.random.default_rng(0).permutation(train_y[:600])
    bad = cas.classification_accuracy_score(train_x[:600], shuffled, train_x, train_y, test_x, test_y, 10, key,
                                            epochs=10)
    assert good["cas"] > 0.85 and good["cas_real_ceiling"] > 0.85, good
    assert bad["cas"] < 0.3 and bad["cas_real_ceiling"] > 0.85, bad


def test_evaluate_toy_modes_and_conditional_cas(runs, smoke_run, tmp_path):
    toy_dir = str(smoke_run("gan", "smoke_nonsaturating")[0])
    toy = evaluate.evaluate(_options("", metrics=("modes",), num_samples=500), str(tmp_path / "toy_eval"),
                            workdir=toy_dir, progress=False)["metrics"]
    assert 0 <= toy["modes_covered"] <= 8 and 0 <= toy["high_quality_fraction"] <= 1
    real = evaluate.evaluate(_options("", metrics=("modes",), num_samples=500), str(tmp_path / "toy_real"),
                             real_data="ring8", progress=False)["metrics"]
    assert real["modes_covered"] == 8 and abs(real["high_quality_fraction"] - 0.989) < 0.02  # 1 - exp(-9/2) in 2-D
    out = evaluate.evaluate(_options("", metrics=("cas",), num_samples=200, cas_epochs=2), str(tmp_path / "cas"),
                            workdir=str(smoke_run("cgan", "smoke")[0]), progress=False)["metrics"]
    assert 0 <= out["cas"] <= 1 and 0 <= out["cas_real_ceiling"] <= 1
    with pytest.raises(ValueError, match="conditional"):
        evaluate.evaluate(_options("", metrics=("cas",)), str(tmp_path / "x"), workdir=runs["dcgan"])
    with pytest.raises(ValueError, match="need image data"):
        evaluate.evaluate(_options("", metrics=("cas",)), str(tmp_path / "x"), workdir=toy_dir)
