"""Bouncing-ball videos generated in JAX (seeded), the dynamical VAEs' data (Fraccaro et al.
2017's setting, smaller): one ball of radius RADIUS pixels in a SIZE x SIZE box, starting at a
uniform position with a uniform direction at speed SPEED pixels per frame, reflected elastically
at the walls, its velocity jittered by N(0, JITTER^2) each frame (so the future is uncertain and a
latent state pays). Frames are binary: a pixel is on when its centre lies inside the ball.

  videos(key, n) -> uint8 [n, FRAMES, SIZE, SIZE, 1] in {0, 1}
"""

import jax
import jax.numpy as jnp

FRAMES, SIZE, RADIUS, SPEED, JITTER = 16, 16, 2.5, 1.2, 0.15


def trajectories(key: jax.Array, n: int, frames: int = FRAMES, size: int = SIZE, radius: float = RADIUS,
                 speed: float = SPEED, jitter: float = JITTER) -> jax.Array:
    """Ball centres [n, frames, 2] (pixel units, row and column)."""
    k_pos, k_dir, k_jit = jax.random.split(key, 3)
    lo, hi = radius, size - radius
    pos = jax.random.uniform(k_pos, (n, 2), minval=lo, maxval=hi)
    angle = jax.random.uniform(k_dir, (n,), maxval=2 * jnp.pi)
    vel = speed * jnp.stack([jnp.cos(angle), jnp.sin(angle)], -1)
    noise = jitter * jax.random.normal(k_jit, (frames, n, 2))

    def step(carry, eps):
        pos, vel = carry
        vel = vel + eps
        pos = pos + vel
        # reflect at the walls
        below, above = pos < lo, pos > hi
        pos = jnp.where(below, 2 * lo - pos, jnp.where(above, 2 * hi - pos, pos))
        vel = jnp.where(below | above, -vel, vel)
        return (pos, vel), pos

    _, later = jax.lax.scan(step, (pos, vel), noise[1:])
    return jnp.concatenate([pos[None], later]).transpose(1, 0, 2)


def render(centres: jax.Array, size: int = SIZE, radius: float = RADIUS) -> jax.Array:
    """Binary frames [..., size, size, 1] of balls at centres [..., 2]."""
    grid = jnp.arange(size) + 0.5
    d2 = (grid[:, None] - centres[..., 0, None, None]) ** 2 + (grid[None, :] - centres[..., 1, None, None]) ** 2
    return (d2 <= radius**2).astype(jnp.uint8)[..., None]


def videos(key: jax.Array, n: int) -> jax.Array:
    return render(trajectories(key, n))
