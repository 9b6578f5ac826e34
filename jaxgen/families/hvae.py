"""The hierarchical VAE family (Ladder VAE: top-down inference, optional skip connections to the
decoder, KL warm-up, free bits, the IWAE objective). The test log-likelihood is the IWAE bound.
Posterior collapse is reported per layer on the test split: active units (Burda et al. 2016:
dimension u is active when Var_x(E_q[z_u | x]) > 0.01; below the top layer the posterior mean
moves with the layer above, so a collapsed dimension can look active), KL units (dimensions whose
mean KL(q || p(. | z above)) exceeds 0.01 nats) and the layer's mean KL in nats."""

import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.data.pipeline import DataSpec
from jaxgen.families.base import Family
from jaxgen.families.vae import iwae_likelihood, validate_iwae_eval
from jaxgen.models import hvae, observations
from jaxgen.models.vae import ACTIVATIONS
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

ACTIVE_THRESHOLD = 0.01


def build_hvae(config, spec: DataSpec) -> Family:
    m = config.model
    obs = observations.make(m.likelihood, 2 if config.data.binarize else spec.num_bins)
    model = hvae.LadderVAE(tuple(m.latent_dims), tuple(tuple(h) for h in m.hidden), spec.shape,
                           obs.params_per_channel * spec.shape[-1], m.activation, m.skip)
    loss = hvae.make_loss_fn(model, obs, m.kl_warmup_steps, m.free_bits, m.iwae_samples)
    step = GradientStep(loss, make_optimizer(config.optim, config.train.num_steps), config.train.ema_decay,
                        with_step=True)
    sample = hvae.make_sample_fn(model, obs)

    likelihood = iwae_likelihood(config, spec, lambda k, chunk: hvae.make_bound_fn(model, obs, k, chunk),
                                 discrete=True)

    def diagnostics(params, batch, key):
        out = {}
        for l, mean in enumerate(hvae.posterior_means(model, params, batch["x"])):
            for j in range(mean.shape[-1]):
                out[f"m{l}_{j}"], out[f"s{l}_{j}"] = mean[:, j], mean[:, j] ** 2
        keys = rng_lib.example_keys(key, batch["index"])
        noise = [jax.vmap(lambda k, d=d, l=l: jax.random.normal(jax.random.fold_in(k, l), (d,)))(keys)[None]
                 for l, d in enumerate(m.latent_dims)]
        for l, kl in enumerate(hvae.inference_pass(model, params, batch["x"], noise)["kl"]):
            for j in range(kl.shape[-1]):
                out[f"k{l}_{j}"] = kl[0, :, j]
        return out

    def summarize(avg: dict[str, float]) -> dict[str, float]:
        out = {}
        for l, d in enumerate(m.latent_dims):
            var = jnp.asarray([avg[f"s{l}_{j}"] - avg[f"m{l}_{j}"] ** 2 for j in range(d)])
            kl = jnp.asarray([avg[f"k{l}_{j}"] for j in range(d)])
            out[f"active_units_{l}"] = float(jnp.sum(var > ACTIVE_THRESHOLD))
            out[f"kl_units_{l}"] = float(jnp.sum(kl > ACTIVE_THRESHOLD))
            out[f"test_kl_{l}"] = float(jnp.sum(kl))
        return out

    def draw(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an unconditional hierarchical VAE")
        return sample(params, key, n)

    return Family(init_params=lambda key, batch: model.init(key, batch["x"][:1]), step=step, sample=draw,
                  likelihood=likelihood, diagnostics=diagnostics, summarize=summarize)


def validate_hvae(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if len(m.latent_dims) < 2:
        errors.append(f"config.model.latent_dims={tuple(m.latent_dims)}: a hierarchy needs at least two layers")
    if len(m.hidden) != len(m.latent_dims):
        errors.append(f"config.model.hidden has {len(m.hidden)} entries for {len(m.latent_dims)} latent layers")
    if any(d <= 0 for d in m.latent_dims) or any(w <= 0 for h in m.hidden for w in h) or any(len(h) == 0 for h in m.hidden):
        errors.append(f"config.model.latent_dims={tuple(m.latent_dims)} / hidden={tuple(m.hidden)}: positive sizes, "
                      "one or more widths per layer")
    if m.likelihood not in ("bernoulli", "discretized_logistic", "categorical", "logistic_mixture"):
        errors.append(f"config.model.likelihood={m.likelihood!r}: expected a discrete observation model")
    elif config.data.binarize != (m.likelihood == "bernoulli"):
        errors.append(f"config.model.likelihood={m.likelihood!r} with config.data.binarize={config.data.binarize}: "
                      "binarised data takes 'bernoulli' (and only it)")
    if m.activation not in ACTIVATIONS:
        errors.append(f"config.model.activation={m.activation!r}: expected one of {sorted(ACTIVATIONS)}")
    if m.kl_warmup_steps < 0 or m.free_bits < 0:
        errors.append(f"config.model.kl_warmup_steps={m.kl_warmup_steps} / free_bits={m.free_bits}: must be >= 0")
    if m.iwae_samples < 1:
        errors.append(f"config.model.iwae_samples={m.iwae_samples}: must be >= 1")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: the hierarchical VAE needs images [H, W, C], got {shape}")
    validate_iwae_eval(config, errors)
