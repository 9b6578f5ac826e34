"""The deep-Boltzmann-machine family, stepped: Salakhutdinov & Hinton's (2009) schedule as one
run with three phases (jaxgen/train/phases.py), resumable anywhere, the phase boundaries
included.

  bottom  CD-k on v of an RBM whose bottom-up input counts twice (p(h1 | v) = sigmoid(2 v W1 + b1))
  top     CD-k, on the bottom module's p(h1 | v), of an RBM whose top-down input counts twice
  pcd     on its first step the two modules compose into the DBM (h1's biases the mean of the
          two modules'); then PCD: mean-field data statistics minus those of persistent Gibbs
          chains, optimizer config.optim (its schedule spans this phase)

The test log-likelihood is the mean-field lower bound with log Z by AIS on the middle layer
(an estimate: the AIS error enters the standard error); the AIS base is the product of
Bernoullis with the DBM's own visible biases.
"""

import jax
import jax.numpy as jnp
import optax

from jaxgen.classical.dbm import DBM, DoubledRBM, ais_log_partition, pcd_gradient
from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family, ais_likelihood
from jaxgen.families.dbn import _flat, cd_phase_update, validate_boltzmann
from jaxgen.train.optim import make_optimizer
from jaxgen.train.phases import Phase, PhasedStep

DBM_KEYS = ("w1", "w2", "a", "b1", "b2")


def doubled(up: float, down: float):
    return lambda layer: DoubledRBM(layer["w"], layer["a"], layer["b"], up=up, down=down)


def compose(params: dict) -> dict:
    """The DBM of the two pretrained modules (h1's biases: the mean of both modules')."""
    bottom, top = params["bottom"], params["top"]
    return {"w1": bottom["w"], "w2": top["w"], "a": bottom["a"], "b1": 0.5 * (bottom["b"] + top["a"]), "b2": top["b"]}


def dbm_of(params: dict) -> DBM:
    return DBM(*(params["dbm"][k] for k in DBM_KEYS))


def init_params(key, v, h1: int, h2: int, scale: float = 0.01) -> dict:
    p = jnp.clip(jnp.mean(v, 0), 0.01, 0.99)
    params = {"bottom": {"w": scale * jax.random.normal(jax.random.fold_in(key, 0), (v.shape[1], h1)),
                         "a": jnp.log(p) - jnp.log1p(-p), "b": jnp.zeros(h1)},
              "top": {"w": scale * jax.random.normal(jax.random.fold_in(key, 1), (h1, h2)), "a": jnp.zeros(h1),
                      "b": jnp.zeros(h2)}}
    return {**params, "dbm": compose(params)}  # replaced by the trained modules' at the pcd phase's start


def pcd_update(mf_iters: int, weight_decay: float):
    def update(params, batch, key, chains, first):
        params = {**params, "dbm": jax.tree.map(lambda c, d: jnp.where(first, c, d), compose(params), params["dbm"])}
        dbm = dbm_of(params)
        v = _flat(batch["x"])
        grad, chains = pcd_gradient(dbm, key, v, chains, mf_iters)
        step = {"w1": -(grad.w1 - weight_decay * dbm.w1), "w2": -(grad.w2 - weight_decay * dbm.w2), "a": -grad.a,
                "b1": -grad.b1, "b2": -grad.b2}
        direction = {**jax.tree.map(jnp.zeros_like, params), "dbm": step}
        mu1, _ = dbm.mean_field(v, mf_iters)
        recon = jax.nn.sigmoid(dbm.a + mu1 @ dbm.w1.T)
        metrics = {"loss": -jnp.mean(dbm.elbo(v, 0.0, mf_iters)),  # minus the unnormalised bound (log Z omitted)
                   "recon_error": jnp.mean(jnp.sum((v - recon) ** 2, -1))}
        return params, direction, metrics, chains

    return update


def build_dbm(config, spec: DataSpec) -> Family:
    m = config.model
    h1, h2 = m.hidden

    def bottom_probs(params, v):
        return jax.nn.sigmoid(doubled(2.0, 1.0)(params["bottom"]).hidden_logits(v))

    def pretrain_tx():
        return optax.sgd(m.pretrain_lr, momentum=m.momentum)

    def init_chains(params):
        a = params["bottom"]["a"]
        return (jnp.broadcast_to(jax.nn.sigmoid(a), (m.num_chains, a.shape[0])), jnp.zeros((m.num_chains, h2)))

    step = PhasedStep((
        Phase("bottom", m.pretrain_steps, cd_phase_update("bottom", doubled(2.0, 1.0), lambda p, v: v, m.cd_k, False,
                                                          m.weight_decay), pretrain_tx()),
        Phase("top", m.pretrain_steps, cd_phase_update("top", doubled(1.0, 2.0), bottom_probs, m.cd_k, False,
                                                       m.weight_decay), pretrain_tx()),
        Phase("pcd", m.pcd_steps, pcd_update(m.mf_iters, m.weight_decay), make_optimizer(config.optim, m.pcd_steps),
              init_chains),
    ))

    def likelihood(final: bool) -> Likelihood | None:
        def log_partition(params, key, betas, num_chains):
            dbm = dbm_of(params)
            return ais_log_partition(dbm, key, betas, num_chains, dbm.a)

        def log_prob(params, batch, key, log_z):
            return {"log_prob": dbm_of(params).elbo(_flat(batch["x"]), log_z, m.bound_mf_iters)}

        return ais_likelihood(m, final, "mean-field bound + AIS log Z", log_prob, log_partition,
                              {"bound_mf_iters": m.bound_mf_iters})

    def sample(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an unconditional DBM")
        return dbm_of(params).sample(key, n, m.gibbs_steps).reshape((n,) + tuple(spec.shape))

    return Family(init_params=lambda key, batch: init_params(key, _flat(batch["x"]), h1, h2), step=step, sample=sample,
                  likelihood=likelihood, num_steps=step.num_steps)


def validate_dbm(config, shape, errors: list[str]) -> None:
    m = config.model
    validate_boltzmann(config, shape, errors, ("pretrain_steps", "pcd_steps", "mf_iters", "bound_mf_iters",
                                               "num_chains"))
    if len(m.hidden) != 2:
        errors.append(f"config.model.hidden={m.hidden}: a two-layer DBM takes two widths")
    if m.pretrain_lr <= 0 or not 0 <= m.momentum < 1:
        errors.append(f"config.model.pretrain_lr={m.pretrain_lr}, momentum={m.momentum}: lr > 0, momentum in [0, 1)")
