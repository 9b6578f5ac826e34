"""Mode coverage on constructed point sets, latent interpolation and
arithmetic, nearest neighbours against brute force."""

import jax.numpy as jnp
import numpy as np

from jaxgen.data import toy
from jaxgen.eval import latent, modes, neighbours


def test_mode_coverage_on_constructed_points():
    centres = np.asarray(toy.ring8_modes())
    # 3 modes hit: 10 points at mode 0, 4 at mode 1 (+1 outside 3 std), 1 at mode 2; 4 far away.
    pts = np.concatenate([np.repeat(centres[:1], 10, 0), centres[1:2] + [0.1, 0.0], centres[1:2].repeat(4, 0),
                          centres[2:3], np.full((4, 2), 10.0)])
    out = modes.mode_coverage(pts, centres, std=0.02)
    assert out["modes_covered"] == 3
    np.testing.assert_allclose(out["high_quality_fraction"], 15 / 20)  # the 0.1 offset is > 3 * 0.02
    hist = np.array([10, 4, 1]) / 15
    np.testing.assert_allclose(out["mode_kl"], np.sum(hist * np.log(hist * 8)), rtol=1e-6)
    strict = modes.mode_coverage(pts, centres, std=0.02, min_count=4)
    assert strict["modes_covered"] == 2
    uniform = modes.mode_coverage(np.repeat(centres, 3, 0), centres, std=0.02)
    assert uniform == {"modes_covered": 8.0, "high_quality_fraction": 1.0, "mode_kl": 0.0}
    # a collapsed generator: every sample near mode 5 covers exactly one mode, KL = log 8
    collapsed = centres[5] + np.random.default_rng(0).normal(scale=0.02, size=(500, 2))
    one = modes.mode_coverage(collapsed, centres, std=0.02)
    assert one["modes_covered"] == 1 and one["high_quality_fraction"] > 0.98
    np.testing.assert_allclose(one["mode_kl"], np.log(8), rtol=1e-6)


def test_indicators_average_to_the_same_counts():
    centres = toy.grid25_modes()
    pts = toy.grid25(__import__("jax").random.key(0), 500)
    ind = modes.mode_indicators(pts, centres, 0.05)
    counts = [float(jnp.sum(ind[f"mode_{j}"])) for j in range(25)]
    direct = modes.mode_coverage(np.asarray(pts), np.asarray(centres), 0.05)
    assert modes.summarize_counts(np.array(counts), 500) == direct
    assert direct["modes_covered"] == 25 and direct["high_quality_fraction"] > 0.98  # 3 std: 98.9% in 2-D


def test_slerp_endpoints_and_norm():
    z0, z1 = jnp.array([1.0, 0.0]), jnp.array([0.0, 2.0])
    path = latent.interpolate(z0, z1, 5, "slerp")
    np.testing.assert_allclose(path[0], z0, atol=1e-6)
    np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    lin = latent.interpolate(z0, z1, 5, "linear")
    np.testing.assert_allclose(lin[2], (z0 + z1) / 2)
    # Slerp of equal-norm vectors stays on the sphere.
    on = latent.interpolate(jnp.array([3.0, 0.0]), jnp.array([0.0, 3.0]), 7)
    np.testing.assert_allclose(jnp.linalg.norm(on, axis=-1), 3.0, rtol=1e-5)


def test_class_means_and_arithmetic():
    codes = jnp.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    means = latent.class_means(codes, jnp.array([0, 0, 1]), 3)
    np.testing.assert_allclose(means, [[1.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    grid = latent.arithmetic_grid(lambda z: z, codes[:1], means, 0, 1, scales=(0.0, 1.0))
    np.testing.assert_allclose(grid, [[0.0, 0.0], [-1.0, 4.0]])


def test_nearest_neighbours_match_brute_force():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(1000, 4, 4, 1)).astype(np.float32)
    queries = rng.normal(size=(7, 4, 4, 1)).astype(np.float32)
    idx, dist = neighbours.nearest_neighbours(queries, train, k=3, block=4)
    d = np.linalg.norm(queries.reshape(7, 1, -1) - train.reshape(1, 1000, -1), axis=-1)
    np.testing.assert_array_equal(idx, np.argsort(d, 1)[:, :3])
    np.testing.assert_allclose(dist, np.sort(d, 1)[:, :3], rtol=1e-4)
    grid = neighbours.neighbour_grid(queries[:2], train, k=3)
    assert grid.shape == (8, 4, 4, 1)
    np.testing.assert_array_equal(grid[1], train[idx[0, 0]])


def test_memorisation_summary_on_copied_and_fresh_images():
    """Copies of training images sit at distance 0 (ratio 0, every one a candidate copy);
    fresh draws from the training distribution sit where held-out data do (ratio near 1, about
    1% below held-out's 1st percentile)."""
    from jaxgen.eval import memorization

    rng = np.random.default_rng(0)
    train, heldout, fresh = (rng.uniform(size=(n, 8, 8, 1)).astype(np.float32) for n in (2_000, 1_000, 1_000))
    d_heldout = memorization.nearest_distances(heldout, train)
    copied = memorization.summarize(memorization.nearest_distances(train[:300], train), d_heldout, "pixels")
    assert copied["pixels_nn_median_ratio"] == 0.0 and copied["pixels_close_fraction"] == 1.0
    new = memorization.summarize(memorization.nearest_distances(fresh, train), d_heldout, "pixels")
    assert abs(new["pixels_nn_median_ratio"] - 1.0) < 0.02 and new["pixels_close_fraction"] < 0.03
