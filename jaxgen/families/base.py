"""What a family hands the run shell: a `Family` for the stepped engine, a fitter for the
one-call engine, and the table entry naming which."""

import dataclasses
from collections.abc import Callable
from typing import Any

import optax

from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.losses.adversarial import clip_weights
from jaxgen.train.adversarial import AdversarialStep
from jaxgen.train.one_call import Fitter
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


def adversarial_step(config, objective, d_steps: int = 1, weight_clip: float = 0.0) -> AdversarialStep:
    """The adversarial step kind for any family with two players: optimizers from
    config.d_optim (its schedule spans the d_steps x num_steps discriminator updates)
    and config.optim, WGAN weight clipping on D when weight_clip > 0, generator EMA."""
    n = config.train.num_steps
    d_tx = make_optimizer(config.d_optim, n * d_steps)
    if weight_clip > 0:
        d_tx = optax.chain(d_tx, clip_weights(weight_clip))
    return AdversarialStep(objective, d_tx, make_optimizer(config.optim, n), d_steps, config.train.ema_decay)


@dataclasses.dataclass(frozen=True)
class FamilyEntry:
    """One row of the family table: exactly one of `build` (stepped engine) or `fit` (one-call)."""

    validate: Callable[[Any, tuple[int, ...] | None, list[str]], None]  # (config, data shape, errors)
    build: Callable[[Any, DataSpec], Family] | None = None
    fit: Fitter | None = None

    def __post_init__(self):
        if (self.build is None) == (self.fit is None):
            raise TypeError("a family entry has exactly one of build (stepped) or fit (one-call)")

    @property
    def engine(self) -> str:
        return "stepped" if self.build is not None else "one_call"
