"""jaxgen.nn.Conv and its lowerings against flax.linen.Conv / lax.conv_general_dilated."""

import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.nn import Conv
from jaxgen.nn import lowering as lowering_lib

CASES = [  # batch, hw, in, out, kernel, stride, padding
    (2, (9, 8), 3, 5, (3, 3), 1, "SAME"),
    (2, (8, 8), 4, 6, (4, 4), 2, "SAME"),
    (1, (9, 9), 2, 3, (3, 3), 2, "SAME"),
    (2, (7, 7), 8, 4, (2, 2), 1, "SAME"),
    (2, (10, 10), 3, 2, (7, 7), 1, "SAME"),
    (1, (10, 9), 3, 2, (3, 5), 1, "VALID"),
    (1, (8, 8), 2, 2, (3, 3), 1, ((2, 0), (1, 1))),
]


def _reference(x, kernel, stride, padding):
    return jax.lax.conv_general_dilated(x, kernel, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))


@pytest.mark.parametrize("lowering", lowering_lib.LOWERINGS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[4][0]}x{c[4][1]}s{c[5]}{c[6] if isinstance(c[6], str) else 'explicit'}")
def test_lowering_equals_xla_convolution_and_its_gradients(lowering, case):
    b, hw, cin, cout, k, stride, padding = case
    if (lowering == "fft" and stride != 1) or (lowering == "winograd" and (stride != 1 or k != (3, 3))):
        with pytest.raises(ValueError, match="stride 1"):
            lowering_lib.conv2d(jnp.zeros((b, *hw, cin)), jnp.zeros((*k, cin, cout)), (stride, stride), padding, lowering)
        return
    kx, kk, kg = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (b, *hw, cin))
    kernel = jax.random.normal(kk, (*k, cin, cout))
    want = _reference(x, kernel, stride, padding)
    got = jax.jit(lambda x, w: lowering_lib.conv2d(x, w, (stride, stride), padding, lowering))(x, kernel)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(want))))
    g = jax.random.normal(kg, want.shape)
    grads = jax.grad(lambda x, w: jnp.sum(lowering_lib.conv2d(x, w, (stride, stride), padding, lowering) * g), (0, 1))(x, kernel)
    ref = jax.grad(lambda x, w: jnp.sum(_reference(x, w, stride, padding) * g), (0, 1))(x, kernel)
    for a, r in zip(grads, ref):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(r))))


def test_unknown_lowering_is_a_clear_error():
    with pytest.raises(ValueError, match="'direct'"):
        lowering_lib.conv2d(jnp.zeros((1, 4, 4, 1)), jnp.zeros((3, 3, 1, 1)), lowering="direct")


@pytest.mark.parametrize("lowering", ["auto", *lowering_lib.LOWERINGS])
def test_conv_layer_is_flax_conv_with_the_same_parameters(lowering):
    x = jax.random.normal(jax.random.key(1), (2, 14, 14, 3))
    k = (3, 3) if lowering == "winograd" else (7, 7)
    ours = Conv(4, k, lowering=lowering)
    theirs = flax_nn.Conv(4, k, padding="SAME")
    params = theirs.init(jax.random.key(2), x)
    ours_params = ours.init(jax.random.key(2), x)
    # same tree, shapes and initial values: checkpoints load either way
    assert jax.tree.map(jnp.shape, ours_params) == jax.tree.map(jnp.shape, params)
    np.testing.assert_array_equal(ours_params["params"]["kernel"], params["params"]["kernel"])
    params = jax.tree.map(lambda p: p + 0.1, params)  # a nonzero bias
    np.testing.assert_allclose(ours.apply(params, x), theirs.apply(params, x), rtol=1e-4, atol=1e-4)


def test_strided_conv_layer_and_auto_choice_on_cpu():
    x = jax.random.normal(jax.random.key(1), (2, 8, 8, 3))
    params = flax_nn.Conv(5, (4, 4), strides=2, padding="SAME").init(jax.random.key(2), x)
    want = flax_nn.Conv(5, (4, 4), strides=2, padding="SAME").apply(params, x)
    np.testing.assert_allclose(Conv(5, (4, 4), strides=2).apply(params, x), want, rtol=1e-4, atol=1e-5)
    assert lowering_lib.choose(64, (28, 28), 64, 64, (7, 7), (1, 1), platform="gpu") == "xla"
    assert lowering_lib.choose(64, (28, 28), 64, 64, (3, 3), (1, 1), platform="tpu") == "xla"


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_equals_flax_conv_with_the_masked_kernel(mask_type):
    x = jax.random.normal(jax.random.key(3), (2, 9, 9, 2))
    layer = Conv(3, (7, 7), mask_type=mask_type)
    params = layer.init(jax.random.key(4), x)
    mask = lowering_lib.causal_mask((7, 7), 2, 3, mask_type)
    masked = {"params": {"kernel": params["params"]["kernel"] * mask, "bias": params["params"]["bias"] + 0.3}}
    want = flax_nn.Conv(3, (7, 7), padding="SAME").apply(masked, x)
    got = layer.apply({"params": {**params["params"], "bias": masked["params"]["bias"]}}, x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_causal_mask_sees_only_earlier_pixels():
    """Output (i, j) depends on input (i', j') only for (i', j') before (i, j) in raster
    order (mask A), or at it too (mask B), for every output pixel (Jacobian, brute force)."""
    h = w = 5
    for mask_type in ("A", "B"):
        layer = Conv(1, (3, 3), mask_type=mask_type, use_bias=False)
        params = layer.init(jax.random.key(5), jnp.zeros((1, h, w, 1)))
        params = jax.tree.map(lambda p: jnp.abs(p) + 0.1, params)  # no accidental zeros
        jac = jax.jacrev(lambda x, layer=layer, params=params: layer.apply(params, x[None, :, :, None])[0, :, :, 0])(
            jnp.ones((h, w)))
        jac = np.asarray(jac).reshape(h * w, h * w)  # [out pixel, in pixel], raster order
        allowed = np.tril(np.ones((h * w, h * w)), k=-1 if mask_type == "A" else 0).astype(bool)
        assert np.all(jac[~allowed] == 0)
        assert np.any(jac[allowed] != 0)


def test_causal_mask_orders_channel_groups():
    mask = lowering_lib.causal_mask((3, 3), 3, 6, "A", channel_groups=3)
    centre = mask[1, 1]  # [in, out]: out groups (2 channels each) see earlier input groups only
    np.testing.assert_array_equal(centre, [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="'C'"):
        lowering_lib.causal_mask((3, 3), 1, 1, "C")
