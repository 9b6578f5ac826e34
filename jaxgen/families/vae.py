"""The VAE family: a gradient step on the negative ELBO; the test log-likelihood is the IWAE
bound (k importance samples; the ELBO is reported beside it)."""

from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.models import observations, vae
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep


def build_vae(config, spec: DataSpec) -> Family:
    m = config.model
    obs = observations.make(m.likelihood, spec.num_bins if not config.data.binarize else 2)
    model = vae.VAE(
        latent_dim=m.latent_dim,
        data_shape=spec.shape,
        out_channels=obs.params_per_channel * spec.shape[-1],
        architecture=m.architecture,
        hidden=tuple(m.hidden),
        channels=tuple(m.channels),
        activation=m.activation,
    )
    step = GradientStep(vae.make_loss_fn(model, obs, m.beta), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    sample = vae.make_sample_fn(model, obs)

    def likelihood(final: bool) -> Likelihood:
        k = config.eval.final_iwae_samples if final else config.eval.iwae_samples
        bound = vae.make_bound_fn(model, obs, k, min(config.eval.iwae_chunk, k))

        def log_prob(params, batch, key, stats):
            out = bound(params, batch, key)
            return {"log_prob": out["iwae"], "elbo": out["elbo"]}

        return Likelihood("lower_bound", "iwae", log_prob, {"k": k}, dequantization=dequantization(config, spec),
                          discrete=config.data.binarize or m.likelihood in DISCRETE)

    return Family(
        init_params=lambda key, batch: vae.init_params(model, key, batch),
        step=step,
        sample=lambda params, key, n, labels=None: _unconditional(sample, params, key, n, labels),
        likelihood=likelihood,
    )


def dequantization(config, spec: DataSpec) -> str:
    """How the observation model meets the data, stated with every likelihood."""
    name = config.model.likelihood
    if config.data.binarize:
        return "none (binary data)"
    if name in ("discretized_logistic", "categorical", "logistic_mixture"):
        return f"none (discrete likelihood over {spec.num_bins} levels)"
    if name == "gaussian":
        return "none: a density on the scaled values, not a discrete likelihood"
    return "none: Bernoulli cross-entropy on grey levels, not a likelihood"


DISCRETE = ("discretized_logistic", "categorical", "logistic_mixture")  # likelihoods of the stored levels


def _unconditional(sample, params, key, n, labels):
    if labels is not None:
        raise ValueError("labels were given to an unconditional VAE")
    return sample(params, key, n)


def validate_vae(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.likelihood not in observations.NAMES:
        errors.append(f"config.model.likelihood={m.likelihood!r}: expected one of {observations.NAMES}")
    if config.data.binarize and m.likelihood != "bernoulli":
        errors.append(f"config.model.likelihood={m.likelihood!r}: binarised data (config.data.binarize=True) needs 'bernoulli'")
    if m.latent_dim <= 0:
        errors.append(f"config.model.latent_dim={m.latent_dim}: must be positive")
    if m.architecture not in ("mlp", "conv"):
        errors.append(f"config.model.architecture={m.architecture!r}: expected 'mlp' or 'conv'")
    if m.activation not in vae.ACTIVATIONS:
        errors.append(f"config.model.activation={m.activation!r}: expected one of {sorted(vae.ACTIVATIONS)}")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: the VAE needs image data [H, W, C], got shape {shape}")
    elif shape is not None and m.architecture == "conv":
        scale = 2 ** len(m.channels)
        if shape[0] % scale or shape[1] % scale:
            errors.append(f"config.model.channels={tuple(m.channels)}: {len(m.channels)} stride-2 stages need H, W "
                          f"divisible by {scale}, got {shape[:2]}")
    if config.eval.iwae_samples % min(config.eval.iwae_chunk, config.eval.iwae_samples):
        errors.append(f"config.eval.iwae_samples={config.eval.iwae_samples}: must be divisible by config.eval.iwae_chunk")
    if config.eval.final_iwae_samples % min(config.eval.iwae_chunk, config.eval.final_iwae_samples):
        errors.append(f"config.eval.final_iwae_samples={config.eval.final_iwae_samples}: must be divisible by "
                      "config.eval.iwae_chunk")
