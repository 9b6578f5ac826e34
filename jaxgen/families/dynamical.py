"""The dynamical-VAE family on videos (bouncing_balls): the deterministic-transition RNN baseline
(config.model.arch 'rnn', exact likelihood), VRNN ('vrnn') and the Kalman VAE ('kvae'), both
trained on their ELBO and tested on IWAE bounds (configs vrnn.py, kvae.py). Results are per
sequence in nats, per frame beside them (test_log_likelihood_per_frame). Figures: samples (a row
per sequence) and, for the KVAE, imputation of missing frames (figures/imputation.png)."""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import rng as rng_lib
from jaxgen.data.pipeline import DataSpec
from jaxgen.eval import images
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.losses.bounds import log_mean_exp
from jaxgen.models import dynamical as dyn
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

ARCHS = ("rnn", "vrnn", "kvae")
NET_KEYS = {"rnn": ("hidden",), "vrnn": ("hidden", "latent", "feat"),
            "kvae": ("code", "state", "mixtures", "hidden", "dynamics_hidden", "transition_noise", "emission_noise")}
MISSING = (4, 12)  # frames [4, 12) hidden in figures/imputation.png


def make_model(config, spec: DataSpec) -> dyn.DynamicalModel:
    m = config.model
    frames, frame = spec.shape[0], tuple(spec.shape[1:])
    if m.arch == "rnn":
        return dyn.DynamicalModel(dyn.RNNBaseline(m.hidden, frame), "rnn", ())
    if m.arch == "vrnn":
        return dyn.DynamicalModel(dyn.VRNN(m.hidden, m.latent, m.feat, frame), "vrnn", (frames, m.latent))
    net = dyn.KVAE(m.code, m.state, m.mixtures, m.hidden, m.dynamics_hidden, m.transition_noise, m.emission_noise,
                   frame)
    return dyn.DynamicalModel(net, "kvae", (frames, m.code))


def build_dynamical(config, spec: DataSpec) -> Family:
    m = config.model
    model = make_model(config, spec)
    frames = spec.shape[0]

    def noise(key, index, draw):
        keys = jax.vmap(lambda k: jax.random.fold_in(k, draw))(rng_lib.example_keys(key, index))
        return rng_lib.per_example_normal(keys, model.noise_shape) if model.noise_shape else None

    def loss_fn(params, batch, key):
        terms = model.terms(params, batch["x"], noise(rng_lib.stream(key, "latents"), batch["index"], 0))
        elbo = terms["elbo"].mean()
        return -elbo / frames, {"loss": -elbo / frames, "elbo": elbo, "elbo_per_frame": elbo / frames}

    step = GradientStep(loss_fn, make_optimizer(config.optim, config.train.num_steps), config.train.ema_decay)

    def log_prob_fn(k):
        def log_prob(params, batch, key, stats):
            # draws in chunks of 10 under lax.map: one compiled model whatever k
            draws = jax.lax.map(lambda i: model.terms(params, batch["x"], noise(key, batch["index"], i)),
                                jnp.arange(k), batch_size=min(k, 10))
            lp = log_mean_exp(draws["log_weight"], 0)
            elbo = draws["elbo"].mean(0)
            return {"log_prob": lp, "log_likelihood_per_frame": lp / frames, "elbo": elbo}

        return log_prob

    def likelihood(final: bool) -> Likelihood:
        if model.arch == "rnn":
            return Likelihood("exact", "autoregressive over frames", log_prob_fn(1),
                              dequantization="none (binary frames)")
        k = m.iwae_samples_final if final else m.iwae_samples
        return Likelihood("lower_bound", "iwae", log_prob_fn(k), {"k": k}, dequantization="none (binary frames)")

    def sample(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an unconditional video model")
        return model.net.apply(params, key, n, frames, method="generate")

    def init(key, batch):
        x = batch["x"][:1]
        if model.arch == "rnn":
            return model.net.init(key, x)
        return model.net.init(key, x, jnp.zeros((1, *model.noise_shape)))

    def artifacts(params, key, loaded, workdir):
        out = {}
        shape = tuple(spec.shape[1:])
        path = os.path.join(workdir, "figures", "samples.png")
        videos = np.asarray(jax.jit(lambda p, k: sample(p, k, 8))(params, key))
        images.save_image_grid(path, videos.reshape(-1, *shape), num_cols=frames, upscale=4)
        out["samples"] = path
        if model.arch == "kvae":
            x = jnp.asarray(loaded.test["x"][:6], jnp.float32)
            observed = jnp.ones(frames).at[MISSING[0]:MISSING[1]].set(0.0)
            filled = np.asarray(jax.jit(lambda p: model.net.apply(p, x, observed, method="impute"))(params))
            shown = np.asarray(x) * np.asarray(observed)[None, :, None, None, None]
            rows = np.stack([np.asarray(x), shown, filled], 1).reshape(-1, *shape)  # truth, observed, imputed
            path = os.path.join(workdir, "figures", "imputation.png")
            images.save_image_grid(path, rows, num_cols=frames, upscale=4)
            out["imputation"] = path
        return out

    return Family(init_params=init, step=step, sample=sample, likelihood=likelihood, artifacts=artifacts)


def validate_dynamical(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.arch not in ARCHS:
        errors.append(f"config.model.arch={m.arch!r}: expected one of {ARCHS}")
        return
    missing = [k for k in NET_KEYS[m.arch] if k not in m]
    if missing:
        errors.append(f"config.model.arch={m.arch!r} needs config.model keys {missing}")
        return
    if shape is not None and len(shape) != 4:
        errors.append(f"config.data.name={config.data.name!r}: a dynamical VAE models videos [T, H, W, C], "
                      f"got shape {shape}")
    for key in NET_KEYS[m.arch]:
        if m[key] <= 0:
            errors.append(f"config.model.{key}={m[key]}: must be positive")
    if m.arch != "rnn":
        for key in ("iwae_samples", "iwae_samples_final"):
            if m[key] < 1:
                errors.append(f"config.model.{key}={m[key]}: must be >= 1")
