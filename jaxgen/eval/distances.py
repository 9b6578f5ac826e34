"""Row-blocked pairwise-distance reductions, sharded over devices.

The k-NN metrics (precision/recall, density/coverage), the memorisation check
and the nearest-neighbour grids need, for every query point, a reduction over
its distances to a whole reference set: the k smallest distances, or a count
of reference balls that contain it. The
[N, M] distance matrix is never materialised: queries are split over the
devices of a 1-D mesh (`jax.shard_map`, no collectives: each row is
independent), and each device walks its rows in blocks of `block` with
`lax.map`. Results are identical on 1 or many devices.
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

Array = jax.Array
AXIS = "rows"


def squared_distances(a: Array, b: Array) -> Array:
    """[N, D], [M, D] -> [N, M] squared Euclidean distances (clipped at 0)."""
    d2 = jnp.sum(a * a, 1)[:, None] - 2.0 * a @ b.T + jnp.sum(b * b, 1)[None, :]
    return jnp.maximum(d2, 0.0)


def default_mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), (AXIS,))


def shard_rows(x, mesh: Mesh | None = None) -> jax.Array:
    """x placed with its first axis split over the mesh (replicated when the row count
    does not divide evenly): jit then runs row-parallel computations on every device."""
    mesh = mesh or default_mesh()
    spec = PartitionSpec(AXIS) if x.shape[0] % mesh.devices.size == 0 else PartitionSpec()
    return jax.device_put(x, NamedSharding(mesh, spec))


@functools.partial(jax.jit, static_argnames=("row_fn", "block", "mesh"))
def _blocked(row_fn: Callable, queries: Array, reference: Array, extra: Array, block: int, mesh: Mesh) -> Array:
    n_dev = mesh.devices.size
    n = queries.shape[0]
    per = -(-n // (n_dev * block)) * block  # rows per device, a multiple of block
    pad = per * n_dev - n
    q = jnp.pad(queries, ((0, pad), (0, 0)))

    def local(q_local, ref, ext):
        blocks = q_local.reshape(-1, block, q_local.shape[1])
        out = jax.lax.map(lambda qb: row_fn(squared_distances(qb, ref), ext), blocks)
        return jax.tree.map(lambda o: o.reshape((per,) + o.shape[2:]), out)

    out = jax.shard_map(local, mesh=mesh, in_specs=(PartitionSpec(AXIS), PartitionSpec(), PartitionSpec()),
                        out_specs=PartitionSpec(AXIS))(q, reference, extra)
    return jax.tree.map(lambda o: o[:n], out)


def reduce_rows(row_fn: Callable, queries, reference, extra=None, block: int = 512, mesh: Mesh | None = None) -> Array:
    """row_fn(d2 [block, M], extra) -> [block, ...] (or a tuple of such) applied to
    every block of query rows against all of `reference`; returns [N, ...]. `row_fn`
    is a static jit argument: pass the same function object to reuse the compilation."""
    queries = jnp.asarray(queries, jnp.float32)
    reference = jnp.asarray(reference, jnp.float32)
    extra = jnp.zeros((0,), jnp.float32) if extra is None else jnp.asarray(extra, jnp.float32)
    block = max(1, min(block, queries.shape[0]))
    return _blocked(row_fn, queries, reference, extra, block, mesh or default_mesh())


@functools.cache
def _k_smallest_fn(k: int) -> Callable:
    """A row function (cached per k, so each k compiles once): the k smallest squared
    distances of each row, ascending, and their reference indices."""
    def fn(d2: Array, _extra: Array) -> tuple[Array, Array]:
        neg, index = jax.lax.top_k(-d2, k)
        return -neg, index
    fn.__name__ = f"k_smallest_{k}"
    return fn


def k_nearest(queries, reference, k: int, **kw) -> tuple[Array, Array]:
    """(distances [N, k], indices [N, k]) of each query's k nearest reference points, nearest first."""
    if not 1 <= k <= len(reference):
        raise ValueError(f"k={k}: must be in [1, {len(reference)}] (the number of reference points)")
    d2, index = reduce_rows(_k_smallest_fn(k), queries, reference, **kw)
    return jnp.sqrt(d2), index


def kth_neighbour_distance(points, k: int, exclude_self: bool = True, **kw) -> Array:
    """[N, D] -> [N]: distance from each point to its k-th nearest other point
    of the same set (`exclude_self`: the point itself, at distance 0, is not counted)."""
    if k < 1:
        raise ValueError(f"k={k}: must be >= 1")
    kk = k + 1 if exclude_self else k
    if kk > len(points):
        raise ValueError(f"k={k}: needs more than {kk - 1} points, got {len(points)}")
    return k_nearest(points, points, kk, **kw)[0][:, kk - 1]


# Ball membership d <= r is tested as d^2 <= r^2 (1 + BALL_RTOL): a point that lies on the
# sphere (e.g. the k-th neighbour that defined the radius) stays inside despite float32
# rounding of the two matmul-based distance computations.
BALL_RTOL = 1e-5


def _inside_count(d2: Array, radii: Array) -> Array:
    """Number of reference balls (radius radii[j] around reference j) that contain each query."""
    return jnp.sum(d2 <= (radii * radii * (1.0 + BALL_RTOL))[None, :], axis=1).astype(jnp.float32)


def count_inside_balls(queries, centres, radii, **kw) -> Array:
    """[N] number of balls B(centres[j], radii[j]) that contain each query point."""
    return reduce_rows(_inside_count, queries, centres, radii, **kw)


def nearest(queries, reference, **kw) -> tuple[Array, Array]:
    """(distance [N], index [N]) of each query's nearest reference point."""
    d, index = k_nearest(queries, reference, 1, **kw)
    return d[:, 0], index[:, 0]
