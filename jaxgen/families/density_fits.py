"""Fitters of the density models and generative classifiers (their one-call families are in
densities.py).

Each reads its hyperparameters from config.model, fits on the flattened training split (images
uniformly dequantised, see jaxgen/data/protocol.py) and reports what is particular to its fit
(EM iterations, BIC tables, train log-densities, accuracies); the test log-likelihood is
measured by the engine under the protocol.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.classical.bayes import GENERATIVE, fit_bayes_classifier, fit_logistic_regression
from jaxgen.classical.gmm import COVARIANCE_TYPES, aic, bic, fit_gmm
from jaxgen.classical.hmm_fit import fit_hmm
from jaxgen.classical.nonparametric import BANDWIDTH_RULES, KERNELS, bandwidth_factor, fit_kde, select_bandwidth
from jaxgen.classical.ppca import fit_ppca, fit_ppca_em
from jaxgen.train.one_call import FitData, FitResult


def _mean(fn, x, block: int = 2_000) -> float:
    """Mean of the per-row values of fn over x, in blocks of rows (bounded memory)."""
    return float(np.mean(np.concatenate([np.asarray(fn(jnp.asarray(x[i:i + block]))) for i in range(0, len(x), block)])))


def _as_samples(s, data: FitData) -> np.ndarray:
    s = np.asarray(s).reshape((-1,) + data.shape)
    return np.clip(s, 0.0, 1.0) if len(data.shape) == 3 else s


def _trace_rows(report, values, name: str) -> None:
    for i, v in enumerate(np.asarray(values)):
        if np.isfinite(v):
            report(i + 1, {name: float(v)})


# ---------------------------------------------------------------- GMM


def fit_gmm_config(config, data: FitData, key, report) -> FitResult:
    """EM for each K of model.num_components (vmapped restarts); the K of lowest BIC is kept and
    a table of every K's BIC / AIC / log-likelihoods is written (gmm_select_k.md)."""
    m = config.model
    rows, best = [], None
    for i, k in enumerate(m.num_components):
        params, trace = fit_gmm(jax.random.fold_in(key, i), jnp.asarray(data.x), k, m.covariance_type, m.n_init,
                                m.max_iter, m.tol, m.reg_covar)
        if len(m.num_components) == 1:
            _trace_rows(report, trace.objective, "train_log_density")
        row = {"num_components": k, "bic": float(bic(params, data.x)), "aic": float(aic(params, data.x)),
               "train_log_density": _mean(params.log_prob, data.x),
               "test_log_density": _mean(params.log_prob, data.x_test), "em_iterations": int(trace.num_iters),
               "converged": float(trace.converged)}
        report(k, {f"k_{name}": v for name, v in row.items() if name != "num_components"})
        rows.append(row)
        if best is None or row["bic"] < best[1]["bic"]:
            best = (params, row)
    params, row = best
    table = ("| K | BIC | AIC | train log-density | test log-density | EM iterations |\n|---|---|---|---|---|---|\n"
             + "".join(f"| {r['num_components']} | {r['bic']:.1f} | {r['aic']:.1f} | {r['train_log_density']:.3f} | "
                       f"{r['test_log_density']:.3f} | {r['em_iterations']} |\n" for r in rows))
    return FitResult(params, {k: v for k, v in row.items() if k != "test_log_density"},
                     tables={"gmm_select_k.md": table})


def validate_gmm(config, shape, errors: list[str]) -> None:
    m = config.model
    if not m.num_components or min(m.num_components) < 1:
        errors.append(f"config.model.num_components={m.num_components}: a non-empty tuple of positive K")
    if m.covariance_type not in COVARIANCE_TYPES:
        errors.append(f"config.model.covariance_type={m.covariance_type!r}: expected one of {COVARIANCE_TYPES}")
    for name in ("n_init", "max_iter"):
        if m[name] < 1:
            errors.append(f"config.model.{name}={m[name]}: must be >= 1")
    if m.tol <= 0 or m.reg_covar < 0:
        errors.append(f"config.model.tol={m.tol}, reg_covar={m.reg_covar}: tol > 0 and reg_covar >= 0")


# ---------------------------------------------------------------- KDE


def fit_kde_config(config, data: FitData, key, report) -> FitResult:
    """KDE on the training split; bandwidth by rule, fixed factor, or 'held_out': the last
    model.valid_fraction of the training split scores every factor of a log grid (each score
    reported) and the rest are the kernel centres."""
    m = config.model
    x = jnp.asarray(data.x)
    metrics = {}
    if m.bandwidth == "held_out":
        n_valid = max(1, int(len(x) * m.valid_fraction))
        x, valid = x[:-n_valid], x[-n_valid:]
        factors = np.geomspace(1e-3, 2.0, 34)
        factor, scores = select_bandwidth(x, valid, factors, m.kernel)
        for i, (f, score) in enumerate(zip(factors, scores)):
            report(i + 1, {"factor": float(f), "valid_log_likelihood": float(score)})
        metrics["bandwidth_at_grid_edge"] = float(factor in (factors[0], factors[-1]))
    else:
        factor = bandwidth_factor(m.bandwidth, *x.shape) if m.bandwidth in BANDWIDTH_RULES else float(m.bandwidth)
        report(1, {"factor": factor})
    params = fit_kde(x, factor, m.kernel)
    metrics.update(bandwidth_factor=factor)
    return FitResult(params, metrics)


def validate_kde(config, shape, errors: list[str]) -> None:
    m = config.model
    if m.kernel not in KERNELS:
        errors.append(f"config.model.kernel={m.kernel!r}: expected one of {KERNELS}")
    if m.bandwidth not in BANDWIDTH_RULES + ("held_out",):
        try:
            ok = float(m.bandwidth) > 0
        except ValueError:
            ok = False
        if not ok:
            errors.append(f"config.model.bandwidth={m.bandwidth!r}: 'scott', 'silverman', 'held_out' or a positive factor")
    if not 0 < m.valid_fraction < 1:
        errors.append(f"config.model.valid_fraction={m.valid_fraction}: must be in (0, 1)")


# ---------------------------------------------------------------- PPCA


def fit_ppca_config(config, data: FitData, key, report) -> FitResult:
    """Closed-form MLE (Tipping & Bishop) or EM with model.em_iters iterations."""
    m = config.model
    x = jnp.asarray(data.x)
    if m.method == "em":
        params, trace = fit_ppca_em(key, x, m.latent_dim, m.em_iters)
        _trace_rows(report, trace.log_likelihood, "train_log_density")
    else:
        params = fit_ppca(x, m.latent_dim)
    metrics = {"noise_var": float(params.noise_var), "train_log_density": _mean(params.log_prob, data.x)}
    return FitResult(params, metrics)


def validate_ppca(config, shape, errors: list[str]) -> None:
    m = config.model
    d = int(np.prod(shape)) if shape else None
    if m.latent_dim < 1 or (d is not None and m.latent_dim >= d):
        errors.append(f"config.model.latent_dim={m.latent_dim}: must be in [1, {d})")
    if m.method not in ("closed_form", "em"):
        errors.append(f"config.model.method={m.method!r}: expected 'closed_form' or 'em'")
    if m.em_iters < 1:
        errors.append(f"config.model.em_iters={m.em_iters}: must be >= 1")


# ---------------------------------------------------------------- HMM


def _rows(x, shape):
    """Images [N, H*W*C] -> sequences [N, H, W*C]: an image read top to bottom, one row per step."""
    return x.reshape(len(x), shape[0], -1)


def fit_hmm_config(config, data: FitData, key, report) -> FitResult:
    """Baum-Welch on images read as sequences of rows (Gaussian-mixture emissions); samples
    are sequences of model.num_rows rows stacked back into images."""
    m = config.model
    if len(data.shape) != 3:
        raise ValueError(f"the hmm config reads images as sequences of rows; data of shape {data.shape} is not an image")
    x = _rows(data.x, data.shape)
    params, trace = fit_hmm(key, jnp.asarray(x), m.num_states, emission="gmm", num_mix=m.num_mix,
                            covariance_type=m.covariance_type, max_iter=m.max_iter, tol=m.tol, reg_covar=m.reg_covar)
    _trace_rows(report, np.asarray(trace.log_likelihood) / len(x), "train_log_density")
    metrics = {"baum_welch_iterations": int(trace.num_iters), "train_log_density": _mean(params.log_prob, x)}
    return FitResult(params, metrics)


def validate_hmm(config, shape, errors: list[str]) -> None:
    m = config.model
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: the hmm config reads images row by row; "
                      f"this dataset's examples have shape {shape}")
    for name in ("num_states", "num_mix", "max_iter"):
        if m[name] < 1:
            errors.append(f"config.model.{name}={m[name]}: must be >= 1")
    if m.covariance_type not in COVARIANCE_TYPES:
        errors.append(f"config.model.covariance_type={m.covariance_type!r}: expected one of {COVARIANCE_TYPES}")


# ---------------------------------------------------------------- generative classifiers


def _bayes_inputs(model: str, x):
    return (x > 0.5).astype(np.float32) if model == "bernoulli_nb" else x  # binary features for Bernoulli NB


def fit_bayes_config(config, data: FitData, key, report) -> FitResult:
    """Every model of model.models on the same training split; test accuracies in a table
    (classifiers.md). Samples: one row per class from the class-conditional densities of
    model.sample_model."""
    m = config.model
    if data.y is None:
        raise ValueError(f"config.data.name={config.data.name!r} has no labels; generative classifiers need them")
    c = data.num_classes
    params, metrics, rows = {}, {}, []
    for i, name in enumerate(m.models):
        x, xt = _bayes_inputs(name, data.x), _bayes_inputs(name, data.x_test)
        if name == "logistic_regression":
            clf = fit_logistic_regression(jnp.asarray(x), jnp.asarray(data.y), c, l2=m.l2)
        else:
            kw = {"reg": m.reg} if name in ("lda", "qda", "gmm") else {}
            clf = fit_bayes_classifier(jnp.asarray(x), jnp.asarray(data.y), c, name, key=jax.random.fold_in(key, i),
                                       num_components=m.num_components, **kw)
        acc = float(np.mean(np.asarray(clf.predict(jnp.asarray(xt))) == data.y_test))
        params[name] = clf
        metrics[f"{name}_test_accuracy"] = acc
        rows.append(f"| {name} | {'discriminative' if name == 'logistic_regression' else 'generative'} | "
                    f"{100 * acc:.2f} |\n")
        report(i + 1, {"test_accuracy": acc})
    table = (f"{len(data.y)} training, {len(data.y_test)} test examples\n\n"
             "| model | kind | test accuracy (%) |\n|---|---|---|\n" + "".join(rows))
    samples = None
    if m.sample_model in params:
        per_class = max(1, config.eval.num_samples // c)
        keys = jax.random.split(jax.random.fold_in(key, 10_000), c)
        s = jax.vmap(lambda cm, k: cm.sample(k, per_class))(params[m.sample_model].class_models, keys)
        samples = _as_samples(np.asarray(s).reshape(c * per_class, -1), data)
    return FitResult(params, metrics, samples, {"classifiers.md": table})


def validate_bayes(config, shape, errors: list[str]) -> None:
    m = config.model
    known = GENERATIVE + ("logistic_regression",)
    bad = [name for name in m.models if name not in known]
    if not m.models or bad:
        errors.append(f"config.model.models={m.models}: a non-empty tuple of {known}")
    if m.sample_model and m.sample_model not in m.models:
        errors.append(f"config.model.sample_model={m.sample_model!r}: must be one of config.model.models or ''")
    if m.sample_model == "logistic_regression":
        errors.append("config.model.sample_model='logistic_regression': a discriminative model has no samples")
