"""The deep-belief-network family, stepped: greedy layer-wise CD as one run with one phase per
layer (jaxgen/train/phases.py), so a run killed in any layer resumes exactly.

Layer i is an RBM trained by CD-k (or PCD-k) on the mean-field probabilities p(h | v) of the
layers below, computed from each (dynamically binarised) batch with the lower layers frozen,
as in Hinton et al. (2006). The test log-likelihood is the two-layer variational bound
(Salakhutdinov & Murray 2008) with the top RBM's log Z by AIS: an estimate (the bound holds for
the true log Z; the AIS error enters the standard error). The AIS base is the product of
Bernoullis with the top RBM's own visible biases, so no data is needed to evaluate.
"""

import jax
import jax.numpy as jnp

from jaxgen.classical.dbn import DBN
from jaxgen.classical.rbm import RBM, ais_log_partition, cd_gradient
from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family, ais_likelihood
from jaxgen.train.optim import make_optimizer
from jaxgen.train.phases import Phase, PhasedStep

AIS_SCHEDULES = ("linear", "sigmoid", "salakhutdinov_murray")


def _flat(x):
    return x.reshape(x.shape[0], -1)


def rbm_of(layer: dict) -> RBM:
    return RBM(layer["w"], layer["a"], layer["b"])


def dbn_of(params: dict) -> DBN:
    return DBN(tuple(rbm_of(params[f"layer_{i}"]) for i in range(len(params))))


def init_layers(key, v, widths: tuple[int, ...], scale: float = 0.01) -> dict:
    """Small random weights; the bottom visible biases at the batch's (smoothed) pixel marginals."""
    p = jnp.clip(jnp.mean(v, 0), 0.01, 0.99)
    sizes = (v.shape[1],) + tuple(widths)
    out = {}
    for i in range(len(widths)):
        a = jnp.log(p) - jnp.log1p(-p) if i == 0 else jnp.zeros(sizes[i])
        out[f"layer_{i}"] = {"w": scale * jax.random.normal(jax.random.fold_in(key, i), (sizes[i], sizes[i + 1])),
                             "a": a, "b": jnp.zeros(sizes[i + 1])}
    return out


def cd_phase_update(layer_key: str, rbm_fn, inputs_fn, k: int, persistent: bool, weight_decay: float):
    """A phase training params[layer_key] by CD-k / PCD-k on inputs_fn(params, v): the descent
    direction is minus the CD statistic (plus L2 on W), zeros for every other entry."""

    def update(params, batch, key, chains, first):
        rbm = rbm_fn(params[layer_key])
        x = jax.lax.stop_gradient(inputs_fn(params, _flat(batch["x"])))
        grad, v_model = cd_gradient(rbm, key, x, k, chains if persistent else None)
        layer = params[layer_key]
        step = {"w": -(grad.w - weight_decay * layer["w"]), "a": -grad.a, "b": -grad.b}
        direction = jax.tree.map(jnp.zeros_like, params)
        direction = {**direction, layer_key: step}
        recon = jax.nn.sigmoid(rbm.visible_mean(jax.nn.sigmoid(rbm.hidden_logits(x))))
        metrics = {"loss": jnp.mean(rbm.free_energy(x)) - jnp.mean(rbm.free_energy(v_model)),
                   "recon_error": jnp.mean(jnp.sum((x - recon) ** 2, -1))}
        return params, direction, metrics, v_model if persistent else chains

    return update


def persistent_chains(layer_key: str, num_chains: int, persistent: bool):
    """PCD chains start at the layer's visible-bias means (CD keeps no carry)."""
    def init(params):
        if not persistent:
            return ()
        a = params[layer_key]["a"]
        return jnp.broadcast_to(jax.nn.sigmoid(a), (num_chains, a.shape[0]))

    return init


def build_dbn(config, spec: DataSpec) -> Family:
    m = config.model
    widths = tuple(m.hidden)

    def inputs(i):
        return lambda params, v: dbn_of({f"layer_{j}": params[f"layer_{j}"] for j in range(i)}).up(v) if i else v

    phases = tuple(
        Phase(f"layer_{i}", m.steps_per_layer,
              cd_phase_update(f"layer_{i}", rbm_of, inputs(i), m.cd_k, m.persistent, m.weight_decay),
              make_optimizer(config.optim, m.steps_per_layer),
              persistent_chains(f"layer_{i}", m.num_chains, m.persistent))
        for i in range(len(widths)))
    step = PhasedStep(phases)

    def likelihood(final: bool) -> Likelihood | None:
        if len(widths) != 2:
            return None  # the bound is written for two-layer DBNs

        def log_partition(params, key, betas, num_chains):
            top = rbm_of(params["layer_1"])
            return ais_log_partition(top, key, betas, num_chains, top.a)

        def log_prob(params, batch, key, log_z):
            return {"log_prob": dbn_of(params).lower_bound(key, _flat(batch["x"]), log_z, m.bound_samples)}

        return ais_likelihood(m, final, "variational bound + AIS log Z of the top RBM", log_prob, log_partition,
                              {"bound_samples": m.bound_samples})

    def sample(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an unconditional DBN")
        return dbn_of(params).sample(key, n, m.gibbs_steps).reshape((n,) + tuple(spec.shape))

    return Family(init_params=lambda key, batch: init_layers(key, _flat(batch["x"]), widths), step=step,
                  sample=sample, likelihood=likelihood, num_steps=step.num_steps)


def validate_boltzmann(config, shape, errors: list[str], counts: tuple[str, ...]) -> None:
    """Checks shared by the DBN and the DBM."""
    m = config.model
    if not config.data.binarize:
        errors.append("config.data.binarize=False: Boltzmann machines with Bernoulli units need binary data")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: expected images, got examples of shape {shape}")
    if not m.hidden or min(m.hidden) < 1:
        errors.append(f"config.model.hidden={m.hidden}: positive layer widths")
    for name in counts + ("cd_k", "ais_chains", "gibbs_steps"):
        if m[name] < 1:
            errors.append(f"config.model.{name}={m[name]}: must be >= 1")
    if m.ais_betas < 2 or m.ais_betas_periodic < 0 or m.ais_betas_periodic == 1:
        errors.append(f"config.model.ais_betas={m.ais_betas}, ais_betas_periodic={m.ais_betas_periodic}: >= 2, and "
                      "0 (off) or >= 2")
    if m.ais_schedule not in AIS_SCHEDULES:
        errors.append(f"config.model.ais_schedule={m.ais_schedule!r}: expected one of {AIS_SCHEDULES}")
    if m.weight_decay < 0:
        errors.append(f"config.model.weight_decay={m.weight_decay}: must be >= 0")


def validate_dbn(config, shape, errors: list[str]) -> None:
    validate_boltzmann(config, shape, errors, ("steps_per_layer", "bound_samples", "num_chains"))
