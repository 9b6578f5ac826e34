"""What a family hands the run shell: a `Family` for the stepped engine or a `OneCallFamily`
for the one-call engine, and the table entry naming which."""

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import optax

from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.losses.adversarial import clip_weights
from jaxgen.sampling.ais import beta_schedule
from jaxgen.train.adversarial import AdversarialStep
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import Step


@dataclasses.dataclass(frozen=True)
class Family:
    """What the stepped engine runs."""

    init_params: Callable  # (key, batch) -> params
    step: Step
    # (params, key, n, labels=None) -> [n, *shape] in [0, 1] (images) or raw (2-D data); a
    # conditional family draws labels[i] for sample i (cycling 0, 1, ... when None), an
    # unconditional one refuses labels.
    sample: Callable | None = None
    # final? -> the test log-likelihood (jaxgen/eval/likelihood.py): per example in nats, with
    # its kind and estimator; final evaluations may use a costlier estimator (IWAE k, AIS betas).
    likelihood: Callable[[bool], Likelihood] | None = None
    # (params, batch, key) -> {name: [B]}: per-example monitors on the test split (discriminator
    # outputs, reconstruction error, accuracy, modes), averaged and passed to `summarize`.
    diagnostics: Callable | None = None
    summarize: Callable[[dict[str, float]], dict[str, float]] = dict
    # Top-level params entries the EMA tracks (None: all); evaluation swaps them in.
    ema_keys: tuple[str, ...] | None = None
    # Examples per step in units of config.data.batch_size (k discriminator minibatches).
    batch_multiplier: int = 1
    # (params, key, loaded data, workdir) -> {name: path}: extra figures written after training.
    artifacts: Callable | None = None
    # The run's length when the family sets it (a multi-phase schedule), else config.train.num_steps.
    num_steps: int | None = None


def adversarial_step(config, objective, d_steps: int = 1, weight_clip: float = 0.0) -> AdversarialStep:
    """The adversarial step kind for any family with two players: optimizers from
    config.d_optim (its schedule spans the d_steps x num_steps discriminator updates)
    and config.optim, WGAN weight clipping on D when weight_clip > 0, generator EMA."""
    n = config.train.num_steps
    d_tx = make_optimizer(config.d_optim, n * d_steps)
    if weight_clip > 0:
        d_tx = optax.chain(d_tx, clip_weights(weight_clip))
    return AdversarialStep(objective, d_tx, make_optimizer(config.optim, n), d_steps, config.train.ema_decay)


def ais_likelihood(m, final: bool, estimator: str, log_prob: Callable, log_partition: Callable,
                   settings: dict | None = None) -> Likelihood | None:
    """The test log-likelihood of a Boltzmann family whose per-example `log_prob(params, batch,
    key, log_z)` needs log Z: estimated by AIS once per evaluation, `log_partition(params, key,
    betas, num_chains)` -> an AIS result (log_z, stderr), on model.ais_schedule with
    model.ais_betas (final) or model.ais_betas_periodic betas and model.ais_chains chains; its
    standard error enters the reported one. None when the evaluation runs no AIS (0 betas)."""
    num_betas = m.ais_betas if final else m.ais_betas_periodic
    if num_betas == 0:
        return None
    betas = beta_schedule(num_betas, m.ais_schedule)

    def prepare(params, key):
        res = jax.jit(lambda k: log_partition(params, k, betas, m.ais_chains))(key)
        return res.log_z, {"log_z": float(res.log_z), "log_z_se": float(res.stderr)}

    return Likelihood("estimate", estimator, log_prob,
                      {"ais_betas": num_betas, "ais_chains": m.ais_chains, "ais_schedule": m.ais_schedule,
                       **(settings or {})}, prepare=prepare, shared_se="log_z_se",
                      dequantization="none (binary data)")


@dataclasses.dataclass(frozen=True)
class OneCallFamily:
    """What the one-call engine runs (closed forms and EM)."""

    # (FitData, key, report) -> FitResult: the fitted params, fit-specific metrics and tables;
    # `report(step, metrics)` logs progress rows (EM iterations) as they come.
    fit: Callable
    # state dict of the checkpointed params (flax.serialization.to_state_dict) -> params: how
    # `experiments.evaluate` gets the model back from a workdir. None: not evaluable there.
    restore: Callable[[dict], Any] | None = None
    # (params, key, n, labels=None) -> [n, *shape] in [0, 1] (images) or raw (2-D data).
    sample: Callable | None = None
    # final? -> the test log-likelihood (jaxgen/eval/likelihood.py), as for stepped families.
    likelihood: Callable[[bool], Likelihood] | None = None
    # Fit and test on uniformly dequantised 8-bit images (a continuous density on (k + u) / B,
    # jaxgen/data/protocol.py) instead of the levels themselves.
    dequantize: bool = False


@dataclasses.dataclass(frozen=True)
class FamilyEntry:
    """One row of the family table: the engine that trains the family, how to build what that
    engine runs from (config, data spec), and the checks of the family's own config keys."""

    engine: str  # "stepped" (build returns a Family) or "one_call" (build returns a OneCallFamily)
    build: Callable[[Any, DataSpec], Family | OneCallFamily]
    validate: Callable[[Any, tuple[int, ...] | None, list[str]], None]  # (config, data shape, errors)

    def __post_init__(self):
        if self.engine not in ("stepped", "one_call"):
            raise ValueError(f"engine {self.engine!r}: expected 'stepped' or 'one_call'")
