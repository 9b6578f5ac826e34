"""One-call families (jaxgen/train/one_call.py) through the run shell: every config variant passes the
checks, every smoke variant runs end to end from the launcher's entry point, reported metrics
agree with an independent computation from the checkpointed params, bad values are refused
before anything is written, and a finished workdir is not refitted."""

import importlib
import json
import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from experiments import overrides
from jaxgen import data as data_lib
from jaxgen.families import FAMILIES
from jaxgen.run import checks as config_checks
from jaxgen.run import train_and_evaluate as fit_and_evaluate
from jaxgen.train.checkpoint import load_latest
from jaxgen.train.one_call import fit_data
from tests.run.config_reads import read_keys, recording
from tests.run.test_config_keys import CHECKS, unread

FIT_CONFIGS = ["gmm", "bernoulli_mixture", "kde", "ppca", "hmm", "bayes_classifier"]


def _config(module, variant):
    return importlib.import_module(f"experiments.configs.{module}").get_config(variant)


@pytest.mark.parametrize("module,variant", [(m, v) for m in FIT_CONFIGS
                                            for v in importlib.import_module(f"experiments.configs.{m}").VARIANTS])
def test_every_variant_passes_the_checks(module, variant):
    config = _config(module, variant)
    assert FAMILIES[config.family].engine == "one_call"
    config_checks.check(config, num_devices=1)


@pytest.mark.parametrize("module", FIT_CONFIGS)
def test_smoke_fit_writes_everything_and_is_not_redone(module, smoke_run):
    """... and reads every key: each variant's keys are read by the recorded smoke fit (shell,
    engine, data and fitter; the session's shared run) or by the family's checks
    (tests/run/test_config_keys.py for why)."""
    workdir, metrics, reads = smoke_run(module, "smoke")
    for variant in importlib.import_module(f"experiments.configs.{module}").VARIANTS:
        config = _config(module, variant)
        with recording(config) as checked:
            config_checks.check(config, num_devices=1)
        used = read_keys(reads, ("",), exclude=CHECKS) | read_keys(checked, ("",), exclude=CHECKS)
        missing = unread(config, used)
        assert not missing, f"{module}.py:{variant} sets keys the run never reads: {sorted(missing)}"
    assert metrics and all(math.isfinite(v) for v in metrics.values()), metrics
    assert (workdir / "samples.png").exists() and (workdir / "config.json").exists()
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in rows} == {"fit", "final"}
    assert list((workdir / "tensorboard").iterdir())
    state, meta, _ = load_latest(str(workdir))
    assert meta["family"] == module and state
    again = fit_and_evaluate(_config(module, "smoke"), str(workdir))
    assert again == json.loads((workdir / "final_metrics.json").read_text())
    assert len((workdir / "metrics.jsonl").read_text().splitlines()) == len(rows)  # nothing refitted


def test_ppca_metric_matches_scipy_on_the_restored_params(tmp_path):
    """On 17-level digits the density is scored on the protocol's uniformly dequantised test
    images, (k + u) / 17, and log p - 64 log 17 bounds the discrete log-likelihood."""
    config = overrides.apply(_config("ppca", "smoke"), {"model.method": "closed_form"})
    metrics = fit_and_evaluate(config, str(tmp_path))
    state, _, _ = load_latest(str(tmp_path))
    w, mean, noise = (np.asarray(state[k], np.float64) for k in ("weights", "mean", "noise_var"))
    x = _dequantized_test_images(config)
    reference = multivariate_normal(mean, w @ w.T + noise * np.eye(len(mean))).logpdf(x) - 64 * math.log(17)
    np.testing.assert_allclose(metrics["test_log_likelihood"], reference.mean(), rtol=1e-4)
    saved = json.loads((tmp_path / "likelihood.json").read_text())
    assert saved["kind"] == "lower_bound" and saved["dequantization"].startswith("uniform")
    assert saved["test"]["dequantized"] and saved["discrete"]


def test_binarised_fit_data_is_binary_and_fixed_by_the_seed():
    from jaxgen.data import protocol

    config = _config("bernoulli_mixture", "smoke")
    loaded = data_lib.load(config.data)
    test = protocol.test_set(loaded.test, loaded.scale, "digits", True, 17)
    a, b = fit_data(config, loaded, test), fit_data(config, loaded, test)
    assert set(np.unique(a.x)) == {0.0, 1.0} and np.array_equal(a.x, b.x)
    assert not np.array_equal(a.x[: len(a.x_test)], a.x_test[: len(a.x)])
    other = fit_data(overrides.apply(config, {"seed": 1}), loaded, test)
    assert not np.array_equal(a.x, other.x)


@pytest.mark.parametrize(
    "module,changes,message",
    [
        ("gmm", {"model.covariance_type": "fullish"}, "config.model.covariance_type='fullish'"),
        ("gmm", {"model.num_components": (0, 4)}, "config.model.num_components=(0, 4)"),
        ("kde", {"model.bandwidth": "-1"}, "config.model.bandwidth='-1'"),
        ("kde", {"model.kernel": "cosine"}, "config.model.kernel='cosine'"),
        ("ppca", {"model.latent_dim": 64}, "config.model.latent_dim=64"),
        ("hmm", {"data.name": "ring8"}, "config.data.name='ring8'"),
        ("bayes_classifier", {"model.models": ("svm",)}, "config.model.models=('svm',)"),
        ("bernoulli_mixture", {"data.binarize": False}, "config.data.binarize=False"),
    ],
)
def test_bad_values_are_refused_before_writing(module, changes, message, tmp_path):
    config = overrides.apply(_config(module, "smoke"), changes)
    with pytest.raises(config_checks.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_and_evaluate(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_bernoulli_mixture_reports_the_exact_log_likelihood_on_the_protocol_test_set(smoke_run):
    """Recomputed here from the checkpoint with NumPy on the protocol's fixed binarisation."""
    from jaxgen.data import protocol

    config = _config("bernoulli_mixture", "smoke")
    workdir, metrics, _ = smoke_run("bernoulli_mixture", "smoke")
    state, _, _ = load_latest(str(workdir))
    log_w, logits = (np.asarray(state[k], np.float64) for k in ("log_weights", "logits"))
    loaded = data_lib.load(config.data)
    test = protocol.test_set(loaded.test, loaded.scale, "digits", True, 17)
    x = test.x.reshape(len(test.x), -1).astype(np.float64)
    log_mu, log_1m = -np.logaddexp(0, -logits), -np.logaddexp(0, logits)
    joint = x @ log_mu.T + (1 - x) @ log_1m.T + log_w
    reference = np.logaddexp.reduce(joint, axis=1)
    np.testing.assert_allclose(metrics["test_log_likelihood"], reference.mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["test_bpd"], -reference.mean() / (64 * math.log(2)), rtol=1e-5)
    assert json.loads((workdir / "test_set.json").read_text())["test_checksum"] == test.checksum


def _dequantized_test_images(config):
    """The protocol's uniformly dequantised test images (k + u) / 17 of 17-level digits, [N, 64]."""
    from jaxgen.data import protocol

    loaded = data_lib.load(config.data)
    levels = loaded.test["x"].reshape(len(loaded.test["x"]), -1).astype(np.float64)
    u = np.random.default_rng(protocol.TEST_DEQUANTIZATION_SEED).random(loaded.test["x"].shape, dtype=np.float32)
    return (levels + u.reshape(len(levels), -1)) / 17


def test_kde_metric_matches_scipy_on_the_restored_params(smoke_run):
    """A Gaussian KDE on ring-of-8 points: log p(x) = logsumexp_i log N(x; x_i, L L^T) - log N
    (scipy per centre), on the continuous test points themselves."""
    from scipy.special import logsumexp

    workdir, metrics, _ = smoke_run("kde", "smoke")
    config = _config("kde", "smoke")
    assert config.model.kernel == "gaussian" and config.data.name == "ring8"
    state, _, _ = load_latest(str(workdir))
    centres, tril = (np.asarray(state[k], np.float64) for k in ("data", "scale_tril"))
    x = data_lib.load(config.data).test["x"].astype(np.float64)
    per_centre = np.stack([multivariate_normal(c, tril @ tril.T).logpdf(x) for c in centres])
    reference = logsumexp(per_centre, axis=0) - math.log(len(centres))
    np.testing.assert_allclose(metrics["test_log_likelihood"], reference.mean(), rtol=1e-4)


def test_hmm_metric_matches_a_numpy_forward_pass_on_the_restored_params(smoke_run):
    """Images read as 8 rows of 8 pixels; emissions are Gaussian mixtures (scipy densities), the
    forward recursion in float64 here."""
    from scipy.special import logsumexp

    workdir, metrics, _ = smoke_run("hmm", "smoke")
    config = _config("hmm", "smoke")
    state, _, _ = load_latest(str(workdir))
    log_init, log_trans = (np.asarray(state[k], np.float64) for k in ("log_init", "log_trans"))
    e = {k: np.asarray(v, np.float64) for k, v in state["emission"].items()}
    assert config.model.covariance_type == "diag"  # scale: per-state, per-component standard deviations
    rows = _dequantized_test_images(config).reshape(-1, 8, 8)

    def emission(s, r):  # log sum_m w_sm N(r; mu_sm, diag(sigma_sm^2))
        comps = [e["log_weights"][s, m] + multivariate_normal(e["means"][s, m], np.diag(e["scale"][s, m] ** 2)).logpdf(r)
                 for m in range(e["means"].shape[1])]
        return logsumexp(np.stack(comps), axis=0)

    log_b = np.stack([[emission(s, rows[:, t]) for s in range(len(log_init))] for t in range(8)])  # [T, S, N]
    alpha = log_init[:, None] + log_b[0]
    for t in range(1, 8):
        alpha = logsumexp(alpha[:, None, :] + log_trans[:, :, None], axis=0) + log_b[t]
    reference = logsumexp(alpha, axis=0) - 64 * math.log(17)
    np.testing.assert_allclose(metrics["test_log_likelihood"], reference.mean(), rtol=1e-4)
