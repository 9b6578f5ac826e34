"""Fitters of the deep Boltzmann-machine family (one-call entries of the family table, jaxgen/families/__init__.py).

DBN: greedy layer-wise RBMs (`fit_dbn`); reported: the variational lower bound on the test
log-likelihood, with the top RBM's log Z from AIS. DBM: doubled-module pretraining then PCD
(`pretrain_dbm`, `fit_dbm`); reported: the mean-field lower bound with log Z from AIS. Both
need binary data (config.data.binarize: drawn once per split, see jaxgen/train/one_call.py).
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.classical.dbm import ais_log_partition as dbm_ais_log_partition
from jaxgen.classical.dbm import fit_dbm, pretrain_dbm
from jaxgen.classical.dbn import fit_dbn
from jaxgen.classical.rbm import ais_log_partition, base_rate_rbm
from jaxgen.sampling.ais import beta_schedule
from jaxgen.train.one_call import FitData, FitResult
from jaxgen.train.optim import schedule

SCHEDULES = ("linear", "sigmoid", "salakhutdinov_murray")  # of the AIS temperatures
LR_SCHEDULES = ("constant", "linear", "cosine")  # of the DBM's PCD learning rate, decaying to 0


def _blocks(fn, x, num_blocks: int = 20) -> np.ndarray:
    return np.concatenate([np.asarray(fn(i, jnp.asarray(b))) for i, b in enumerate(np.array_split(x, num_blocks))])


def _bound_metrics(per_example: np.ndarray, log_z) -> dict[str, float]:
    return {"log_z": float(log_z.log_z), "log_z_se": float(log_z.stderr),
            "test_lower_bound": float(per_example.mean()),
            "test_lower_bound_se": float(per_example.std() / np.sqrt(len(per_example)))}


def _images(s, data: FitData) -> np.ndarray:
    return np.asarray(s).reshape((-1,) + data.shape)


def fit_dbn_config(config, data: FitData, key, report) -> FitResult:
    m = config.model
    k_fit, k_ais, k_bound, k_sample = (jax.random.fold_in(key, i) for i in range(4))
    dbn = fit_dbn(k_fit, data.x, tuple(m.hidden), num_epochs=m.epochs, batch_size=config.data.batch_size,
                  learning_rate=m.lr, k=m.cd_k, persistent=m.persistent, momentum=m.momentum,
                  weight_decay=m.weight_decay,
                  callback=lambda layer, e, r, err: report(layer * m.epochs + e + 1,
                                                           {"layer": layer, "recon_error": err}))
    metrics = {}
    if len(m.hidden) == 2:  # the bound is for two-layer DBNs
        top = dbn.layers[1]
        h1 = dbn.up(jnp.asarray(data.x[:10_000]), 1)
        log_z = jax.jit(lambda k: ais_log_partition(top, k, beta_schedule(m.ais_betas, m.ais_schedule), m.ais_chains,
                                                    base_rate_rbm(h1, top.b.shape[0]).a))(k_ais)
        bound = jax.jit(lambda k, v: dbn.lower_bound(k, v, log_z.log_z, m.bound_samples))
        metrics = _bound_metrics(_blocks(lambda i, b: bound(jax.random.fold_in(k_bound, i), b), data.x_test), log_z)
    samples = jax.jit(lambda k: dbn.sample(k, config.eval.num_samples, m.gibbs_steps))(k_sample)
    return FitResult(dbn, metrics, _images(samples, data))


def fit_dbm_config(config, data: FitData, key, report) -> FitResult:
    m = config.model
    k_pre, k_fit, k_ais, k_sample = (jax.random.fold_in(key, i) for i in range(4))
    h1, h2 = m.hidden
    dbm = pretrain_dbm(k_pre, data.x, h1, h2, num_epochs=m.pretrain_epochs, batch_size=config.data.batch_size,
                       learning_rate=m.pretrain_lr, k=m.cd_k, momentum=m.momentum, weight_decay=m.weight_decay,
                       callback=lambda layer, e, r, err: report(layer * m.pretrain_epochs + e + 1,
                                                                {"pretrain_layer": layer, "recon_error": err}))
    step0 = 2 * m.pretrain_epochs
    steps = m.epochs * (data.x.shape[0] // config.data.batch_size)
    lr = schedule(m.lr_schedule, m.lr, steps)
    dbm = fit_dbm(k_fit, data.x, h1, h2, num_epochs=m.epochs, batch_size=config.data.batch_size, learning_rate=lr,
                  momentum=m.momentum, weight_decay=m.weight_decay, mf_iters=m.mf_iters, num_chains=m.num_chains,
                  init=dbm, callback=lambda e, d: report(step0 + e + 1, {"pcd_epoch": e}))
    base = base_rate_rbm(jnp.asarray(data.x), 1).a
    log_z = jax.jit(lambda k: dbm_ais_log_partition(dbm, k, beta_schedule(m.ais_betas, m.ais_schedule), m.ais_chains,
                                                    base))(k_ais)
    bound = jax.jit(lambda v: dbm.elbo(v, log_z.log_z, m.bound_mf_iters))
    metrics = _bound_metrics(_blocks(lambda i, b: bound(b), data.x_test), log_z)
    samples = jax.jit(lambda k: dbm.sample(k, config.eval.num_samples, m.gibbs_steps))(k_sample)
    return FitResult(dbm, metrics, _images(samples, data))


def _validate_common(config, shape, errors: list[str], names: tuple[str, ...]) -> None:
    m = config.model
    if not config.data.binarize:
        errors.append("config.data.binarize=False: Boltzmann machines with Bernoulli units need binary data")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: expected images, got examples of shape {shape}")
    if not m.hidden or min(m.hidden) < 1:
        errors.append(f"config.model.hidden={m.hidden}: positive layer widths")
    for name in names + ("cd_k", "ais_chains", "gibbs_steps"):
        if m[name] < 1:
            errors.append(f"config.model.{name}={m[name]}: must be >= 1")
    if m.ais_betas < 2:
        errors.append(f"config.model.ais_betas={m.ais_betas}: must be >= 2")
    if m.ais_schedule not in SCHEDULES:
        errors.append(f"config.model.ais_schedule={m.ais_schedule!r}: expected one of {SCHEDULES}")
    if m.lr <= 0 or not 0 <= m.momentum < 1:
        errors.append(f"config.model.lr={m.lr}, momentum={m.momentum}: lr > 0, momentum in [0, 1)")


def validate_dbn(config, shape, errors: list[str]) -> None:
    _validate_common(config, shape, errors, ("epochs", "bound_samples"))


def validate_dbm(config, shape, errors: list[str]) -> None:
    _validate_common(config, shape, errors, ("epochs", "pretrain_epochs", "mf_iters", "bound_mf_iters", "num_chains"))
    if len(config.model.hidden) != 2:
        errors.append(f"config.model.hidden={config.model.hidden}: a two-layer DBM takes two widths")
    if config.model.lr_schedule not in LR_SCHEDULES:
        errors.append(f"config.model.lr_schedule={config.model.lr_schedule!r}: expected one of {LR_SCHEDULES}")
    if config.model.pretrain_lr <= 0:
        errors.append(f"config.model.pretrain_lr={config.model.pretrain_lr}: must be positive")
