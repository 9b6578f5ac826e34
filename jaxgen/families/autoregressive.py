"""The autoregressive image family: PixelCNN, Gated PixelCNN, PixelRNN with Row LSTM or Diagonal
BiLSTM layers (config.model.network; configs pixelcnn.py and pixelrnn.py), trained by maximum
likelihood. The test log-likelihood is exact (one network pass); samples are drawn pixel by pixel
with the cached sampler (config.model.sampler 'naive' reruns the network on the whole image)."""

import jax.numpy as jnp

from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.models import autoregressive as ar
from jaxgen.models import observations
from jaxgen.nn.diagonal_bilstm import DiagonalBiLSTMPixelRNN, DiagonalBiLSTMSteps
from jaxgen.nn.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNSteps
from jaxgen.nn.pixelcnn import PixelCNN, PixelCNNSteps
from jaxgen.nn.pixelrnn import PixelRNNSteps, RowLSTMPixelRNN
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

NETWORKS = ("pixelcnn", "gated", "row_lstm", "diagonal_bilstm")
LIKELIHOODS = ("bernoulli", "categorical", "logistic_mixture")
SAMPLERS = ("fast", "naive")


def make_observation(config, spec: DataSpec) -> observations.Observation:
    m = config.model
    return observations.make(m.likelihood, 2 if config.data.binarize else spec.num_bins, m.mixture_components)


def make_network(config, spec: DataSpec, obs: observations.Observation):
    """(the Flax network, its one-pixel-at-a-time `steps`)."""
    m = config.model
    if m.conditional and not spec.num_classes:
        raise ValueError(f"config.model.conditional=True: config.data.name={config.data.name!r} has no labels")
    classes = spec.num_classes if m.conditional else 0
    common = {"features": m.features, "layers": m.layers, "first_kernel": m.first_kernel, "kernel": m.kernel,
              "head_features": m.head_features, "num_classes": classes}
    if m.network == "gated":
        net = GatedPixelCNN(obs.params_per_channel, **common)
        return net, GatedPixelCNNSteps(net, spec.shape)
    if m.network == "row_lstm":
        net = RowLSTMPixelRNN(obs.params_per_channel, **common)
        return net, PixelRNNSteps(net, spec.shape)
    if m.network == "diagonal_bilstm":
        net = DiagonalBiLSTMPixelRNN(obs.params_per_channel, **common)
        return net, DiagonalBiLSTMSteps(net, spec.shape)
    net = PixelCNN(spec.shape[-1], obs.params_per_channel, **common)
    return net, PixelCNNSteps(net, spec.shape)


def build_autoregressive(config, spec: DataSpec) -> Family:
    m = config.model
    obs = make_observation(config, spec)
    net, steps = make_network(config, spec, obs)
    conditional = bool(m.conditional)
    step = GradientStep(ar.make_loss_fn(net, obs, conditional), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    make_sampler = ar.make_fast_sample_fn if m.sampler == "fast" else ar.make_naive_sample_fn
    draw = make_sampler(steps if m.sampler == "fast" else net, obs, spec.shape)
    log_prob = ar.make_log_prob_fn(net, obs, conditional)

    def sample(params, key, n, labels=None):
        if not conditional and labels is not None:
            raise ValueError("labels were given to an unconditional model (config.model.conditional=False)")
        if conditional and labels is None:
            labels = jnp.arange(n) % spec.num_classes
        return draw(params, key, n, labels)

    def likelihood(final: bool) -> Likelihood:
        del final  # exact: the same computation every time
        levels = 2 if config.data.binarize else spec.num_bins
        deq = "none (binary data)" if config.data.binarize else f"none (discrete likelihood over {levels} levels)"
        return Likelihood("exact", "autoregressive", lambda params, batch, key, stats: {"log_prob": log_prob(params, batch)},
                          dequantization=deq, conditional=conditional)

    def init(key, batch):
        labels = batch["label"][:1] if conditional else None
        return net.init(key, batch["x"][:1], labels)

    return Family(init_params=init, step=step, sample=sample, likelihood=likelihood)


def validate_autoregressive(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if m.network not in NETWORKS:
        errors.append(f"config.model.network={m.network!r}: expected one of {NETWORKS}")
    if m.likelihood not in LIKELIHOODS:
        errors.append(f"config.model.likelihood={m.likelihood!r}: expected one of {LIKELIHOODS}")
    elif config.data.binarize != (m.likelihood == "bernoulli"):
        errors.append(f"config.model.likelihood={m.likelihood!r} with config.data.binarize={config.data.binarize}: "
                      "binarised data takes 'bernoulli', grey levels 'categorical' or 'logistic_mixture'")
    if m.sampler not in SAMPLERS:
        errors.append(f"config.model.sampler={m.sampler!r}: expected one of {SAMPLERS}")
    for key in ("first_kernel", "kernel"):
        k = m[key]
        if k < 3 or k % 2 == 0:
            errors.append(f"config.model.{key}={k}: must be odd and >= 3")
    for key in ("features", "head_features", "mixture_components"):
        if m[key] <= 0:
            errors.append(f"config.model.{key}={m[key]}: must be positive")
    if m.layers < (1 if m.network == "gated" else 0):
        errors.append(f"config.model.layers={m.layers}: too few")
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: autoregressive image models need images [H, W, C], "
                      f"got shape {shape}")
    elif shape is not None and m.network in ("gated", "row_lstm", "diagonal_bilstm") and shape[-1] != 1:
        errors.append(f"config.model.network={m.network!r} takes single-channel images, got {shape[-1]} channels "
                      "(use network='pixelcnn', whose masks order the channels)")
    elif shape is not None and m.network == "pixelcnn" and (m.features % shape[-1] or m.head_features % shape[-1]):
        errors.append(f"config.model.features={m.features} / head_features={m.head_features}: must be divisible by "
                      f"the {shape[-1]} channels (one group of features per channel)")
