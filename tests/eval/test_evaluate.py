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


def _recompute_from_saved_arrays(m, path, net, train):
    """Every sample metric equals the metric recomputed on features embedded here, by the same
    feature net, from the saved samples and the training images the reference indices name."""
    from jaxgen import rng as rng_lib
    from jaxgen.eval import metrics as metrics_lib

    saved = np.load(path)
    logits, fake = features.embed(net, saved["samples"], batch_size=64)
    _, real = features.embed(net, train[saved["reference_indices"]], batch_size=64)
    np.testing.assert_allclose(saved["sample_features"], fake, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(saved["reference_features"], real, rtol=1e-5, atol=1e-5)
    assert m["fid"] == pytest.approx(metrics_lib.fid(real, fake), rel=1e-4)
    assert m["inception_score"] == pytest.approx(metrics_lib.inception_score(logits)["inception_score"], rel=1e-4)
    kid = metrics_lib.kid(real, fake, rng_lib.stream(jax.random.key(0), "kid"), 5, 60)
    assert m["kid"] == pytest.approx(kid["kid"], rel=1e-3, abs=1e-6)
    for name, value in {**metrics_lib.precision_recall(real, fake, k=3),
                        **metrics_lib.density_coverage(real, fake, k=5)}.items():
        assert m[name] == pytest.approx(value, rel=1e-5), name


def test_evaluate_writes_report_for_a_vae_and_a_dcgan(runs, tmp_path):
    from jaxgen import data as data_lib
    from jaxgen.data.pipeline import to_model_input

    net = load_classifier(runs["features"])
    loaded = data_lib.load(evaluate.real_data_config("digits"))
    train = to_model_input(loaded.train["x"], loaded.scale)
    for name in ("vae", "dcgan"):
        metrics = evaluate_cli.IMAGE_METRICS + (("likelihood",) if name == "vae" else ())
        result = evaluate.evaluate(_options(runs["features"], metrics=metrics), str(tmp_path / name),
                                   workdir=runs[name], progress=False, save_arrays=True)
        m = result["metrics"]
        _recompute_from_saved_arrays(m, tmp_path / name / "arrays.npz", net, train)
        assert np.isfinite(m["pixels_nn_median_ratio"]) and np.isfinite(m["features_nn_median_ratio"])
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
                       "--no_progress", "--save_arrays"])
    assert "fid" in capsys.readouterr().out and os.path.exists(tmp_path / "cli" / "report.html")
    assert np.load(tmp_path / "cli" / "arrays.npz")["sample_features"].shape[0] == 100


def test_configured_evals_run_during_and_after_training(runs, tmp_path):
    """FID and the likelihood every 2 steps and after training, in the metrics stream; the FID
    at step 2 is the one a run stopped at step 2 gets after training (same params, same draws)."""
    changes = {"evals.metrics": ("fid", "likelihood"), "evals.feature_net": runs["features"],
               "evals.num_samples": 50, "evals.likelihood_repeats": 2, "evals.every_steps": 2}
    train_and_evaluate(overrides.apply(vae_configs.get_config("smoke"), changes), str(tmp_path / "run"))
    saved = _json(tmp_path / "run" / "eval" / "metrics.json")
    assert np.isfinite(saved["metrics"]["fid"]) and "test_log_likelihood_repeats_se" in saved["metrics"]
    lines = [json.loads(x) for x in _text(tmp_path / "run" / "metrics.jsonl").splitlines()]
    evals = {x["step"]: x for x in lines if x["split"] == "evals"}
    assert sorted(evals) == [2, 4] and os.path.exists(tmp_path / "run" / "eval" / "step_0000002" / "report.md")
    short = overrides.apply(vae_configs.get_config("smoke"), {**changes, "train.num_steps": 2, "evals.every_steps": 0})
    train_and_evaluate(short, str(tmp_path / "short"))
    assert _json(tmp_path / "short" / "eval" / "metrics.json")["metrics"]["fid"] == pytest.approx(evals[2]["fid"],
                                                                                                  rel=1e-6)


def test_evaluate_a_one_call_fit_workdir(tmp_path, smoke_run):
    """A GMM workdir: its test log-likelihood from the restored params equals the fit's own
    (exact, so the same in every repeat) and scipy's mixture density; mode coverage applies."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    from experiments.configs import gmm
    from jaxgen import data as data_lib
    from jaxgen.train.checkpoint import load_latest

    fitted, final, _ = smoke_run("gmm", "smoke")
    out = evaluate.evaluate(_options("", metrics=("likelihood", "modes"), num_samples=200), str(tmp_path / "eval"),
                            workdir=str(fitted), progress=False)["metrics"]
    assert out["test_log_likelihood"] == pytest.approx(final["test_log_likelihood"], rel=1e-6)
    assert out["test_log_likelihood_repeats_se"] == 0.0 and out["modes_covered"] >= 1
    state = load_latest(str(fitted))[0]
    tril = np.asarray(state["scale"], np.float64)  # full covariances: Cholesky factors
    x = data_lib.load(gmm.get_config("smoke").data).test["x"].astype(np.float64)
    comps = [np.log(w) + multivariate_normal(m, t @ t.T).logpdf(x) for w, m, t in
             zip(np.exp(np.asarray(state["log_weights"], np.float64)), np.asarray(state["means"], np.float64), tril)]
    assert out["test_log_likelihood"] == pytest.approx(logsumexp(comps, axis=0).mean(), rel=1e-4)


def test_commands_end_in_one_line_on_user_errors(tmp_path):
    """A fit without a model to evaluate, a corrupted MNIST file: one line naming the culprit."""
    import subprocess
    import sys

    from experiments.configs import bayes_classifier
    from jaxgen.data import load, protocol
    from jaxgen.run import workdirs
    from tests.conftest import REPO, timeout

    config = bayes_classifier.get_config("smoke")  # what the shell writes before fitting suffices
    loaded = load(config.data)
    workdirs.write(str(tmp_path / "bayes"), config, loaded.spec,
                   protocol.test_set(loaded.test, loaded.scale, "digits", False, 17))
    with pytest.raises(SystemExit, match="family 'bayes_classifier' keeps no model"):
        evaluate_cli.main(["--workdir", str(tmp_path / "bayes"), "--no_progress"])
    bad = tmp_path / "idx" / "mnist"
    bad.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (bad / name).write_bytes(b"not an idx file")
    result = subprocess.run([sys.executable, "-m", "experiments.launch", "--config=experiments/configs/vae.py:smoke",
                             f"--workdir={tmp_path / 'run'}", "--config.data.name=mnist",
                             f"--config.data.dir={tmp_path / 'idx'}", f"--config.data.tfds_dir={tmp_path / 'tfds'}",
                             "--config.data.download=False"], cwd=REPO, capture_output=True, text=True, timeout=timeout(),
                            check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "md5" in last and "train-images-idx3-ubyte.gz" in last
