"""The RBM family in the one loop: a contrastive-divergence step, AIS log-likelihood evaluation.

The CD-k update is a `GradientStep` on the surrogate loss mean F(v_data) - mean F(v_model)
with v_model = stop_gradient(k Gibbs sweeps from the data): its gradient is exactly the CD
estimate -(<v h>_data - <v h>_model), so any optax optimizer, schedule, EMA, checkpointing
and data parallelism apply unchanged. Each example's chain has its own key folded from its
index, so results do not depend on the device layout. With `model.persistent` (PCD, Tieleman
2008) the negative phase instead continues `model.num_chains` persistent chains by k sweeps
per update: a `PersistentStep` whose carry (the chains) is checkpointed with the run; the
chains start at the base-rate means and each gets its own key. The test log-likelihood
-F(v) - log Z is an estimate: log Z by AIS (Salakhutdinov & Murray 2008), computed once per
evaluation, its standard error added in quadrature to the test images' sampling error.
"""

import math

import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.classical.rbm import RBM, VISIBLE, ais_log_partition, base_rate_rbm
from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family, ais_likelihood
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep, PersistentStep


def _rbm(params, visible):
    return RBM(params["w"], params["a"], params["b"], visible)


def _flat(x):
    return x.reshape(x.shape[0], -1)


def _gibbs(rbm: RBM, k: int, keys, v0):
    """k Gibbs sweeps of each row of v0, row i with keys[i]; no gradient flows through."""
    def chain(kk, v):
        return jax.lax.fori_loop(0, k, lambda i, x: rbm.gibbs_step(jax.random.fold_in(kk, i), x), v)

    return jax.lax.stop_gradient(jax.vmap(chain)(keys, v0))


def _cd_loss(params, rbm: RBM, v, v_model, weight_decay: float):
    f_data, f_model = rbm.free_energy(v), rbm.free_energy(v_model)
    loss = jnp.mean(f_data) - jnp.mean(f_model) + 0.5 * weight_decay * jnp.sum(params["w"] ** 2)
    return loss, {"loss": loss, "free_energy": jnp.mean(f_data), "recon_error": jnp.mean(_recon_error(rbm, v))}


def make_loss_fn(visible: str, k: int, weight_decay: float):
    """CD-k: the negative chains start at the batch."""
    def loss_fn(params, batch, key):
        rbm, v = _rbm(params, visible), _flat(batch["x"])
        return _cd_loss(params, rbm, v, _gibbs(rbm, k, rng_lib.example_keys(key, batch["index"]), v), weight_decay)

    return loss_fn


def make_persistent_loss_fn(visible: str, k: int, weight_decay: float):
    """PCD-k: the negative chains (the carry) continue from where the last update left them."""
    def loss_fn(params, batch, key, chains):
        rbm, v = _rbm(params, visible), _flat(batch["x"])
        v_model = _gibbs(rbm, k, jax.random.split(key, chains.shape[0]), chains)
        loss, metrics = _cd_loss(params, rbm, v, v_model, weight_decay)
        return loss, (metrics, v_model)

    return loss_fn


def _initial_chains(visible: str, num_chains: int):
    def init_carry(params):  # base-rate means (Bernoulli) or the visible biases (Gaussian)
        start = jax.nn.sigmoid(params["base_a"]) if visible == "bernoulli" else params["a"]
        return jnp.broadcast_to(start, (num_chains, start.shape[0]))

    return init_carry


def _recon_error(rbm: RBM, v):
    """[B] squared error of the mean-field reconstruction E[v | E[h | v]]."""
    mean = rbm.visible_mean(jax.nn.sigmoid(rbm.hidden_logits(v)))
    mean = jax.nn.sigmoid(mean) if rbm.visible == "bernoulli" else mean
    return jnp.sum((v - mean) ** 2, -1)


def build_rbm(config, spec: DataSpec) -> Family:
    m = config.model
    visible = m.visible
    num_dims = math.prod(spec.shape)
    tx = make_optimizer(config.optim, config.train.num_steps)
    if m.persistent:
        step = PersistentStep(make_persistent_loss_fn(visible, m.cd_k, m.weight_decay), tx,
                              _initial_chains(visible, m.num_chains), config.train.ema_decay)
    else:
        step = GradientStep(make_loss_fn(visible, m.cd_k, m.weight_decay), tx, config.train.ema_decay)

    def init_params(key, batch):
        v = _flat(batch["x"])
        w = m.init_scale * jax.random.normal(key, (num_dims, m.num_hidden))
        base = base_rate_rbm(v, m.num_hidden).a if visible == "bernoulli" else jnp.zeros(num_dims)
        a = jnp.mean(v, 0) if visible == "gaussian" else base
        # base_a: the AIS base-rate model (smoothed marginals of the first batch); the loss
        # does not depend on it, so its gradient is 0 and every optimizer leaves it in place
        return {"w": w, "a": a, "b": jnp.zeros(m.num_hidden), "base_a": base}

    def diagnostics(params, batch, key):
        return {"test_recon_error": _recon_error(_rbm(params, visible), _flat(batch["x"]))}

    def likelihood(final: bool) -> Likelihood | None:
        if visible != "bernoulli":
            return None

        def log_prob(params, batch, key, log_z):
            neg_f = -_rbm(params, visible).free_energy(_flat(batch["x"]))
            return {"log_prob": neg_f - log_z, "neg_free_energy": neg_f}

        def log_partition(params, key, betas, num_chains):
            return ais_log_partition(_rbm(params, visible), key, betas, num_chains, params["base_a"])

        return ais_likelihood(m, final, "ais", log_prob, log_partition)

    def sample(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an unconditional RBM")
        rbm = _rbm(params, visible)
        return rbm.sample(key, n, m.sample_steps).reshape((n,) + tuple(spec.shape))

    return Family(init_params=init_params, step=step, sample=sample, likelihood=likelihood, diagnostics=diagnostics)


def validate_rbm(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.visible not in VISIBLE:
        errors.append(f"config.model.visible={m.visible!r}: expected one of {VISIBLE}")
    if m.visible == "bernoulli" and not config.data.binarize:
        errors.append("config.data.binarize=False: Bernoulli visible units need binary data (set data.binarize=True)")
    for name in ("num_hidden", "cd_k", "num_chains", "ais_betas", "ais_chains", "sample_steps"):
        if m[name] < (2 if name == "ais_betas" else 1):
            errors.append(f"config.model.{name}={m[name]}: must be positive (ais_betas >= 2)")
    if m.ais_betas_periodic < 0 or m.ais_betas_periodic == 1:
        errors.append(f"config.model.ais_betas_periodic={m.ais_betas_periodic}: 0 (off) or >= 2")
    if m.ais_schedule not in ("linear", "sigmoid", "salakhutdinov_murray"):
        errors.append(f"config.model.ais_schedule={m.ais_schedule!r}: expected linear, sigmoid or salakhutdinov_murray")
