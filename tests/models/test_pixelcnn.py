"""PixelCNN, Gated PixelCNN and PixelRNN (Row LSTM, Diagonal BiLSTM): the autoregressive property (Jacobians),
normalisation over every image of a tiny space, the fast sampler equal to the naive one and
drawing from the model's own probabilities, smoke runs."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.models import autoregressive as ar
from jaxgen.models import observations
from jaxgen.nn.diagonal_bilstm import DiagonalBiLSTMPixelRNN, DiagonalBiLSTMSteps
from jaxgen.nn.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNSteps
from jaxgen.nn.pixelcnn import PixelCNN, PixelCNNSteps
from jaxgen.nn.pixelrnn import PixelRNNSteps, RowLSTMPixelRNN

jax.config.update("jax_enable_x64", False)


def _randomize(params, key, scale=0.5):
    """Every parameter (biases and class embeddings too) drawn at random, so no path is
    hidden by a zero initialisation."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    # biases small beside the kernels' contributions, so ReLUs are rarely all off at a position
    return jax.tree.unflatten(tree, [scale * (1 if x.ndim > 1 else 0.2) * jax.random.normal(k, x.shape)
                                     for k, x in zip(keys, leaves)])


def _net(kind: str, channels: int, k: int, classes: int = 0, first_kernel: int = 7, layers: int = 2):
    if kind == "diagonal_bilstm":
        return DiagonalBiLSTMPixelRNN(k, features=6, layers=layers, first_kernel=first_kernel, head_features=6,
                                      num_classes=classes)
    if kind == "row_lstm":
        return RowLSTMPixelRNN(k, features=4, layers=layers, first_kernel=first_kernel, head_features=4,
                               num_classes=classes)
    if kind == "gated":
        return GatedPixelCNN(k, features=4, layers=layers, first_kernel=first_kernel, kernel=3, head_features=4,
                             num_classes=classes)
    return PixelCNN(channels, k, features=6 * channels, layers=layers, first_kernel=first_kernel, kernel=3,
                    head_features=6 * channels, num_classes=classes)


def _steps(kind, net, shape):
    return {"gated": GatedPixelCNNSteps, "row_lstm": PixelRNNSteps, "pixelcnn": PixelCNNSteps,
            "diagonal_bilstm": DiagonalBiLSTMSteps}[kind](net, shape)


def _params(net, shape, classes=0, seed=0):
    labels = jnp.zeros(1, jnp.int32) if classes else None
    return _randomize(net.init(jax.random.key(seed), jnp.zeros((1, *shape)), labels), jax.random.key(seed + 1))


@pytest.mark.parametrize("kind,channels", [("pixelcnn", 1), ("pixelcnn", 3), ("gated", 1), ("diagonal_bilstm", 1)])
def test_output_depends_exactly_on_the_values_before_it(kind, channels):
    """d out(a, b, c) / d x(a', b', c') is zero unless (a', b', c') comes before (a, b, c) in
    raster and channel order, and nonzero for every value before it: on a 4x4 image a 7x7
    first kernel reaches every earlier pixel, so the gated stack has no blind spot (the
    pixel above-right included)."""
    h = w = 4
    net = _net(kind, channels, k=1)
    params = _params(net, (h, w, channels))
    jacobian = jax.jit(jax.jacrev(lambda v: net.apply(params, v)[0]))
    dependent = False  # a ReLU may switch a path off at one input: the union over 8 inputs
    for seed in range(8):
        x = jax.random.uniform(jax.random.key(seed), (1, h, w, channels))
        dependent = dependent | (np.abs(np.asarray(jacobian(x)[:, :, :, 0])) > 0)  # [H, W, K*C, H, W, C]
    order = np.arange(h * w * channels).reshape(h, w, channels)
    for a, b, c in itertools.product(range(h), range(w), range(channels)):
        np.testing.assert_array_equal(dependent[a, b, c], order < order[a, b, c], err_msg=f"output {(a, b, c)}")


def _row_lstm_receptive_field(h: int, w: int, r0: int, layers: int) -> np.ndarray:
    """[H, W, H, W]: whether output (a, b) can depend on input (a', b'), by propagating the
    connections of the paper's definition: the r0 mask-A convolution, then per Row LSTM layer the
    state at (a, b) reads its input at (a, b - 1 .. b) and the previous row's state at
    (a - 1, b - 1 .. b + 1), the residual stream adds the state to the layer's input."""
    dep = np.zeros((h, w, h, w), bool)
    for a, b in itertools.product(range(h), range(w)):
        dep[a, b, max(0, a - r0):a, max(0, b - r0):b + r0 + 1] = True
        dep[a, b, a, max(0, b - r0):b] = True
    for _ in range(layers):
        state = np.zeros_like(dep)
        for a, b in itertools.product(range(h), range(w)):
            state[a, b] = dep[a, b] | (dep[a, b - 1] if b else False)
            if a:
                state[a, b] |= state[a - 1, max(0, b - 1):b + 2].any(axis=0)
        dep = dep | state
    return dep


def test_row_lstm_depends_exactly_on_its_receptive_field():
    """Row LSTM (3x3 mask-A first layer, 2 layers) on a 5x6 image: output (a, b) depends on
    exactly the inputs its connections reach (the paper's triangle above the pixel and a
    stretch of its row to the left; the blind spot is by design), all of them before (a, b)."""
    h, w = 5, 6
    net = RowLSTMPixelRNN(1, features=8, layers=2, first_kernel=3, head_features=8)
    params = _params(net, (h, w, 1))
    jacobian = jax.jit(jax.jacrev(lambda v: net.apply(params, v)[0, :, :, 0]))
    dependent = False
    for seed in range(8):
        x = jax.random.uniform(jax.random.key(seed), (1, h, w, 1))
        dependent = dependent | (np.abs(np.asarray(jacobian(x)[:, :, 0, :, :, 0])) > 0)  # [H, W, H, W]
    expected = _row_lstm_receptive_field(h, w, 1, 2)
    order = np.arange(h * w).reshape(h, w)
    for a, b in itertools.product(range(h), range(w)):
        assert not np.any(expected[a, b] & (order >= order[a, b]))
        np.testing.assert_array_equal(dependent[a, b], expected[a, b], err_msg=f"output {(a, b)}")
    assert expected[4, 0, 1, 3]  # the recurrence reaches beyond the first layer's kernel


def _all_images(levels: int, shape=(2, 2, 1)) -> jnp.ndarray:
    values = np.array(list(itertools.product(range(levels), repeat=int(np.prod(shape)))), np.float32)
    return jnp.asarray(values.reshape(-1, *shape) / (levels - 1))


@pytest.mark.parametrize("kind,obs_name,levels,classes", [
    ("pixelcnn", "bernoulli", 2, 0), ("gated", "bernoulli", 2, 3), ("pixelcnn", "categorical", 3, 0),
    ("gated", "logistic_mixture", 3, 0), ("pixelcnn", "logistic_mixture", 3, 2), ("row_lstm", "bernoulli", 2, 2),
    ("row_lstm", "categorical", 3, 0), ("diagonal_bilstm", "bernoulli", 2, 2),
])
def test_probabilities_of_every_image_sum_to_one(kind, obs_name, levels, classes):
    obs = observations.make(obs_name, levels, components=2)
    net = _net(kind, 1, obs.params_per_channel, classes)
    params = _params(net, (2, 2, 1), classes)
    xs = _all_images(levels)
    log_prob = ar.make_log_prob_fn(net, obs, conditional=classes > 0)
    for label in range(max(classes, 1)):
        batch = {"x": xs, "label": jnp.full(len(xs), label, jnp.int32)}
        total = float(jnp.sum(jnp.exp(log_prob(params, batch))))
        assert total == pytest.approx(1.0, abs=1e-5), (label, total)


def test_channel_ordering_normalises_over_two_channels():
    """Two channels with 3 levels on a 1x2 image: 3^4 = 81 images, probabilities sum to 1."""
    obs = observations.make("categorical", 3)
    net = _net("pixelcnn", 2, obs.params_per_channel)
    params = _params(net, (1, 2, 2))
    xs = _all_images(3, (1, 2, 2))
    total = jnp.sum(jnp.exp(ar.make_log_prob_fn(net, obs, False)(params, {"x": xs})))
    assert float(total) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("kind,obs_name,channels,classes", [
    ("pixelcnn", "bernoulli", 1, 0), ("pixelcnn", "categorical", 2, 0), ("gated", "bernoulli", 1, 3),
    ("gated", "logistic_mixture", 1, 0), ("row_lstm", "bernoulli", 1, 2), ("row_lstm", "categorical", 1, 0),
    ("diagonal_bilstm", "bernoulli", 1, 2), ("diagonal_bilstm", "logistic_mixture", 1, 0),
])
def test_fast_sampler_returns_the_naive_samples(kind, obs_name, channels, classes):
    shape = (5, 4, channels)
    obs = observations.make(obs_name, 2 if obs_name == "bernoulli" else 8, components=2)
    net = _net(kind, channels, obs.params_per_channel, classes, first_kernel=5)
    params = _params(net, shape, classes, seed=3)
    steps = _steps(kind, net, shape)
    labels = jnp.arange(6) % classes if classes else None
    key = jax.random.key(7)
    naive = jax.jit(ar.make_naive_sample_fn(net, obs, shape), static_argnums=2)(params, key, 6, labels)
    fast = jax.jit(ar.make_fast_sample_fn(steps, obs, shape), static_argnums=2)(params, key, 6, labels)
    np.testing.assert_array_equal(np.asarray(fast), np.asarray(naive))
    assert len(np.unique(np.asarray(fast))) > 1  # not a constant image


@pytest.mark.parametrize("kind", ["pixelcnn", "gated", "row_lstm", "diagonal_bilstm"])
def test_samples_follow_the_models_probabilities(kind):
    """8,000 fast samples of a 2x2 binary model: the frequency of each of the 16 images is within
    4.5 standard errors of its exact probability."""
    obs = observations.bernoulli()
    net = _net(kind, 1, 1, first_kernel=3)
    params = _params(net, (2, 2, 1), seed=5)
    steps = _steps(kind, net, (2, 2, 1))
    n = 8000
    samples = jax.jit(ar.make_fast_sample_fn(steps, obs, (2, 2, 1)), static_argnums=2)(params, jax.random.key(1), n)
    xs = _all_images(2)
    p = np.exp(np.asarray(ar.make_log_prob_fn(net, obs, False)(params, {"x": xs})))
    codes = np.asarray(samples).reshape(n, 4) @ (2 ** np.arange(3, -1, -1))
    freq = np.bincount(codes.astype(int), minlength=16) / n
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(freq - p) <= 4.5 * se + 1e-4), (freq, p)


SMOKE = [("pixelcnn", "smoke"), ("pixelcnn", "smoke_gated"), ("pixelcnn", "smoke_8bit"), ("pixelrnn", "smoke"), ("pixelrnn", "smoke_diagonal")]


@pytest.mark.parametrize("module,variant", SMOKE)
def test_smoke_config_trains_and_reports_an_exact_likelihood(smoke_run, module, variant):
    import json

    workdir, metrics, _ = smoke_run(module, variant)
    assert np.isfinite(metrics["test_log_likelihood"]) and metrics["test_log_likelihood"] < 0
    result = json.loads((workdir / "likelihood.json").read_text())
    assert result["kind"] == "exact" and result["estimator"] == "autoregressive"
    assert (workdir / "samples").exists()
