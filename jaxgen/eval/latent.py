"""Latent-space figures: interpolation grids and latent vector arithmetic.

Both work on any decoder `decode(z [N, Z]) -> images [N, H, W, C]` (a GAN
generator, an AAE or VAE decoder).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def interpolate(z0: Array, z1: Array, num: int, method: str = "slerp") -> Array:
    """[num, Z] points from z0 to z1 (both [Z]), ends included.

    'linear': (1 - t) z0 + t z1. 'slerp': spherical interpolation (White 2016),
    which keeps the norm typical of a Gaussian latent instead of passing near 0.
    """
    t = jnp.linspace(0.0, 1.0, num)[:, None]
    if method == "linear":
        return (1.0 - t) * z0 + t * z1
    if method != "slerp":
        raise ValueError(f"interpolate: method={method!r}; expected 'linear' or 'slerp'")
    cos = jnp.dot(z0, z1) / (jnp.linalg.norm(z0) * jnp.linalg.norm(z1))
    omega = jnp.arccos(jnp.clip(cos, -1.0, 1.0))
    so = jnp.sin(omega)
    safe = jnp.where(so < 1e-6, 1.0, so)
    slerp = (jnp.sin((1.0 - t) * omega) * z0 + jnp.sin(t * omega) * z1) / safe
    return jnp.where(so < 1e-6, (1.0 - t) * z0 + t * z1, slerp)


def interpolation_grid(decode: Callable, starts: Array, ends: Array, num: int = 8, method: str = "slerp") -> np.ndarray:
    """One row per (start, end) pair: [rows * num, H, W, C] images, row-major."""
    z = jax.vmap(lambda a, b: interpolate(a, b, num, method))(starts, ends)  # [rows, num, Z]
    return np.asarray(decode(z.reshape(-1, z.shape[-1])))


def class_means(codes: Array, labels: Array, num_classes: int) -> Array:
    """Mean code of each class, [K, Z] (NaN-free: an absent class gets 0)."""
    one_hot = jax.nn.one_hot(labels, num_classes)  # [N, K]
    counts = jnp.maximum(one_hot.sum(0), 1.0)
    return (one_hot.T @ codes) / counts[:, None]


def arithmetic_grid(decode: Callable, codes: Array, means: Array, source: int, target: int,
                    scales=(0.0, 0.25, 0.5, 0.75, 1.0)) -> np.ndarray:
    """z + s (mean_target - mean_source) for each code (rows) and scale s (columns).

    The latent vector arithmetic of Radford et al. (2016, Sec. 6.3), with
    class-mean directions: each row starts at an example and moves along the
    direction from class `source` to class `target`. [rows * len(scales), ...].
    """
    direction = means[target] - means[source]
    s = jnp.asarray(scales)[None, :, None]
    z = codes[:, None, :] + s * direction[None, None, :]
    return np.asarray(decode(z.reshape(-1, z.shape[-1])))


def traversal_grid(decode: Callable, code: Array, dims: int, values=(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)) -> np.ndarray:
    """Latent traversals: row d sets dimension d of `code` ([Z]) to each of `values`, the others
    fixed; [dims * len(values), H, W, C], row-major (Higgins et al. 2017)."""
    v = jnp.asarray(values)
    rows = [code[None, :].repeat(len(values), 0).at[:, d].set(v) for d in range(dims)]
    return np.asarray(decode(jnp.concatenate(rows)))


def manifold_grid(decode: Callable, num: int = 15, span: float = 0.95) -> np.ndarray:
    """The learned 2-D manifold (Kingma & Welling 2014, fig. 4): decode z on a num x num grid of
    standard normal quantiles from (1 - span) / 2 to (1 + span) / 2, rows top (high z_1) to bottom;
    [num * num, H, W, C]."""
    from jax.scipy.stats import norm

    q = norm.ppf(jnp.linspace((1 - span) / 2, (1 + span) / 2, num))
    z1, z0 = jnp.meshgrid(q[::-1], q, indexing="ij")
    return np.asarray(decode(jnp.stack([z0.ravel(), z1.ravel()], axis=-1)))
