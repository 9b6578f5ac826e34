"""Bijectors (jaxgen.nn.bijectors, jaxgen.nn.made): inverse(forward(x)) = x, and the closed-form
log-determinant equals slogdet of the Jacobian jax.jacfwd computes, in both directions, with
parameters moved away from their (often identity) initial values; ActNorm's data-dependent
initialisation; MADE's autoregressive structure."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.nn import bijectors as bj
from jaxgen.nn import made
from tests.conftest import REPO, timeout


def _perturbed(params, key, scale=0.3):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(tree, [x + scale * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])


def _check(layer, x, cond=None, atol=1e-5, scale=0.3):
    params = _perturbed(layer.init(jax.random.key(0), x, False, cond), jax.random.key(1), scale)
    fwd = lambda v: layer.apply(params, v, False, cond)
    inv = lambda v: layer.apply(params, v, True, cond)
    z, log_det = fwd(x)
    back, inv_log_det = inv(z)
    np.testing.assert_allclose(back, x, atol=atol, rtol=1e-5)
    for fn, point, got in ((fwd, x, log_det), (inv, z, inv_log_det)):
        for i in range(x.shape[0]):  # per example: the map of one example's values
            def one(v, i=i, fn=fn, point=point):
                full = point.at[i].set(v.reshape(point.shape[1:]))
                return fn(full)[0][i].reshape(-1)

            jac = jax.jacfwd(one)(point[i].reshape(-1))
            np.testing.assert_allclose(got[i], jnp.linalg.slogdet(jac)[1], atol=1e-4, rtol=1e-4)
    return z


IMAGE = jax.random.uniform(jax.random.key(2), (2, 4, 4, 2), minval=0.05, maxval=0.95)
VECTOR = jax.random.normal(jax.random.key(3), (3, 4))

CASES = {
    "actnorm image": (bj.ActNorm(), IMAGE),
    "actnorm vector": (bj.ActNorm(), VECTOR),
    "1x1 conv": (bj.Invertible1x1Conv(), IMAGE),
    "1x1 conv LU": (bj.Invertible1x1Conv(lu=True, seed=4), jnp.tile(IMAGE, (1, 1, 1, 2))),
    "coupling checkerboard 0": (bj.AffineCoupling("checkerboard", 0, features=8, blocks=1), IMAGE),
    "coupling checkerboard 1": (bj.AffineCoupling("checkerboard", 1, features=8, blocks=1), IMAGE),
    "coupling channel sigmoid": (bj.AffineCoupling("channel", 1, features=8, blocks=1, scale="sigmoid"), IMAGE),
    "coupling half vector": (bj.AffineCoupling("half", 0, hidden=(16,)), VECTOR),
    "squeeze": (bj.Squeeze(), IMAGE),
    "permute": (bj.Permute(seed=3), VECTOR),
    "reverse": (bj.Reverse(), VECTOR),
    "logit": (bj.LogitTransform(0.05), IMAGE),
    "maf": (made.MAFLayer(hidden=(16, 16)), VECTOR),
    "chain": (bj.Chain([bj.ActNorm(), bj.Invertible1x1Conv(lu=True), bj.AffineCoupling("channel", 0, 8, 1),
                        bj.Squeeze(), bj.AffineCoupling("checkerboard", 1, 8, 1)]), IMAGE),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_inverse_and_log_det_match_the_jacobian(name):
    layer, x = CASES[name]
    _check(layer, x)


def test_conditioned_coupling_inverts_given_the_same_condition():
    cond = jax.random.normal(jax.random.key(5), IMAGE.shape[:-1] + (3,))
    _check(bj.AffineCoupling("checkerboard", 0, features=8, blocks=1), IMAGE, cond)
    _check(made.MAFLayer(hidden=(16,)), VECTOR, jax.random.normal(jax.random.key(6), (3, 2)))


def test_actnorm_initialises_to_zero_mean_unit_variance_per_channel():
    x = 3.0 + 2.0 * jax.random.normal(jax.random.key(7), (16, 4, 4, 3)) * jnp.arange(1, 4)
    layer = bj.ActNorm()
    y, _ = layer.apply(layer.init(jax.random.key(0), x), x)
    np.testing.assert_allclose(jnp.mean(y, (0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(jnp.std(y, (0, 1, 2)), 1.0, atol=1e-4)


ACTNORM_ON_DEVICES = """
import json
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from jaxgen.nn.bijectors import ActNorm
x = 3.0 + jax.random.normal(jax.random.key(7), (16, 4, 4, 3)) * jnp.arange(1, 4)
mesh = Mesh(np.array(jax.devices()), ("data",))
x = jax.device_put(x, NamedSharding(mesh, P("data")))
params = jax.jit(ActNorm().init)(jax.random.key(0), x)
print(json.dumps({"devices": len(jax.devices()), "bias": np.asarray(params["params"]["bias"]).tolist(),
                  "log_scale": np.asarray(params["params"]["log_scale"]).tolist()}))
"""


def test_actnorm_init_uses_the_global_batch_on_four_devices():
    out = {}
    for devices in (1, 4):
        env = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu",
               "PATH": "/usr/bin:/bin"}
        res = subprocess.run([sys.executable, "-c", ACTNORM_ON_DEVICES], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=timeout(), check=True)
        out[devices] = json.loads(res.stdout.strip().splitlines()[-1])
        assert out[devices]["devices"] == devices
    for name in ("bias", "log_scale"):
        np.testing.assert_allclose(out[1][name], out[4][name], rtol=1e-5, atol=1e-6)  # summation order only


def test_made_output_depends_only_on_earlier_inputs():
    dim = 5
    net = made.MADE(hidden=(12, 12), outputs_per_dim=2)
    x = jax.random.normal(jax.random.key(8), (16, dim))
    params = _perturbed(net.init(jax.random.key(0), x[:1]), jax.random.key(9), 1.0)
    # d out[k, i] / d x[j] at 16 points ([16, 2, D, D]); ReLUs make single entries vanish at a
    # point, so the dependence pattern is read from their sum of magnitudes
    jac = jax.vmap(jax.jacfwd(lambda v: net.apply(params, v[None])[0]))(x)
    seen = np.asarray(jnp.sum(jnp.abs(jac), 0)) > 0  # [2, D, D]
    for k in range(2):
        np.testing.assert_array_equal(seen[k], np.tril(np.ones((dim, dim), bool), -1))  # exactly j < i


def test_maf_log_det_is_the_triangular_jacobians_diagonal():
    layer = made.MAFLayer(hidden=(16,))
    params = _perturbed(layer.init(jax.random.key(0), VECTOR), jax.random.key(1))
    jac = jax.jacfwd(lambda v: layer.apply(params, v[None])[0][0])(VECTOR[0])
    np.testing.assert_allclose(np.triu(np.asarray(jac), 1), 0.0, atol=0)
    _, log_det = layer.apply(params, VECTOR)
    np.testing.assert_allclose(log_det[0], jnp.sum(jnp.log(jnp.abs(jnp.diag(jac)))), rtol=1e-5)
