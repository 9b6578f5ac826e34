"""Toy 2-D distributions, sampled in JAX: sample(key, n) -> [n, 2] float32.

The mixtures follow the mode-collapse protocol of Unrolled GAN / VEEGAN:
ring8 = 8 Gaussians (std 0.02) on a circle of radius 2; grid25 = 25 Gaussians
(std 0.05) on the grid {-4, -2, 0, 2, 4}^2.
"""

import math

import jax
import jax.numpy as jnp

Array = jax.Array


def ring8_modes(radius: float = 2.0) -> Array:
    angles = 2.0 * math.pi * jnp.arange(8) / 8
    return radius * jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1)  # [8, 2]


def grid25_modes(spacing: float = 2.0) -> Array:
    ticks = spacing * (jnp.arange(5) - 2.0)
    return jnp.stack(jnp.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(25, 2)  # [25, 2]


def _mixture(key: Array, n: int, modes: Array, std: float) -> Array:
    k_mode, k_noise = jax.random.split(key)
    idx = jax.random.randint(k_mode, (n,), 0, modes.shape[0])
    return modes[idx] + std * jax.random.normal(k_noise, (n, 2))


RING8_STD, GRID25_STD = 0.02, 0.05


def ring8(key: Array, n: int) -> Array:
    return _mixture(key, n, ring8_modes(), RING8_STD)


def grid25(key: Array, n: int) -> Array:
    return _mixture(key, n, grid25_modes(), GRID25_STD)


def two_moons(key: Array, n: int, noise: float = 0.1) -> Array:
    """Two interleaved half circles (as scikit-learn's make_moons), Gaussian noise."""
    k_side, k_t, k_noise = jax.random.split(key, 3)
    upper = jax.random.bernoulli(k_side, 0.5, (n,))
    t = math.pi * jax.random.uniform(k_t, (n,))
    x = jnp.where(upper, jnp.cos(t), 1.0 - jnp.cos(t))
    y = jnp.where(upper, jnp.sin(t), 0.5 - jnp.sin(t))
    return jnp.stack([x, y], -1) + noise * jax.random.normal(k_noise, (n, 2))


def swiss_roll(key: Array, n: int, noise: float = 0.25) -> Array:
    """2-D Swiss roll: (t cos t, t sin t) / 5 with t ~ U(1.5 pi, 4.5 pi), plus noise."""
    k_t, k_noise = jax.random.split(key)
    t = 1.5 * math.pi * (1.0 + 2.0 * jax.random.uniform(k_t, (n,)))
    pts = jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], -1)
    return (pts + noise * jax.random.normal(k_noise, (n, 2))) / 5.0


def checkerboard(key: Array, n: int) -> Array:
    """Uniform on the 8 squares (i + j even) of a 4x4 board of side-2 squares on [-4, 4]^2."""
    k_col, k_row, k_u = jax.random.split(key, 3)
    col = jax.random.randint(k_col, (n,), 0, 4)
    row = 2 * jax.random.randint(k_row, (n,), 0, 2) + col % 2  # (col + row) even
    corner = jnp.stack([col, row], -1).astype(jnp.float32) * 2.0 - 4.0
    return corner + 2.0 * jax.random.uniform(k_u, (n, 2))


def log_density(name: str, x: Array) -> Array:
    """The true log-density [N] of the toy distribution `name` at x [N, 2]: the mixtures ring8 and
    grid25 (equal weights, isotropic components) and the checkerboard (1/32 on its 8 squares,
    -inf elsewhere); the others have no closed form (ValueError)."""
    if name in MODES:
        modes_fn, std = MODES[name]
        modes = modes_fn()
        sq = jnp.sum((x[:, None, :] - modes[None]) ** 2, -1)  # [N, K]
        log_comp = -0.5 * sq / std**2 - jnp.log(2.0 * math.pi * std**2)
        return jax.scipy.special.logsumexp(log_comp, axis=-1) - math.log(modes.shape[0])
    if name == "checkerboard":
        cell = jnp.floor((x + 4.0) / 2.0)  # [N, 2] column, row in 0..3
        inside = jnp.all((cell >= 0) & (cell <= 3), -1) & (jnp.sum(cell, -1) % 2 == 0)
        return jnp.where(inside, -math.log(32.0), -jnp.inf)
    raise ValueError(f"toy data {name!r} has no closed-form density; known: {sorted(MODES) + ['checkerboard']}")


# The mixtures with known modes (the mode-collapse protocol): name -> (modes function, std).
MODES = {"ring8": (ring8_modes, RING8_STD), "grid25": (grid25_modes, GRID25_STD)}

SAMPLERS = {
    "ring8": ring8,
    "grid25": grid25,
    "two_moons": two_moons,
    "swiss_roll": swiss_roll,
    "checkerboard": checkerboard,
}
