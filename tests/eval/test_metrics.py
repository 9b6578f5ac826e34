"""Sample-quality metrics against closed forms, scipy and brute-force numpy."""

import json
import sys

import jax
import numpy as np
import pytest
import scipy.linalg

from jaxgen.eval import distances, metrics
from tests.train.helpers import run


def _random_cov(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_matches_scipy_sqrtm_closed_form():
    rng = np.random.default_rng(0)
    d = 6
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    c1, c2 = _random_cov(rng, d), _random_cov(rng, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * np.real(scipy.linalg.sqrtm(c1 @ c2)))
    got = float(metrics.frechet_distance(mu1, c1, mu2, c2))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # Commuting (diagonal) covariances: tr sqrt(S1 S2) = sum sqrt(a_i b_i).
    a, b = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    np.testing.assert_allclose(float(metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))), expected, rtol=1e-5)
    # Singular covariance v v^T: S1 S2 has the single non-zero eigenvalue v^T S2 v.
    v = rng.normal(size=d)
    c3 = np.outer(v, v)
    expected = v @ v + np.trace(c1) - 2 * np.sqrt(v @ c1 @ v)
    np.testing.assert_allclose(float(metrics.frechet_distance(mu1, c3, mu1, c1)), expected, rtol=1e-3, atol=1e-3)


def test_fid_near_zero_for_same_distribution_and_right_for_a_shift():
    rng = np.random.default_rng(1)
    cov = _random_cov(rng, 4)
    x = rng.multivariate_normal(np.zeros(4), cov, 20_000)
    y = rng.multivariate_normal(np.zeros(4), cov, 20_000)
    assert metrics.fid(x, y) < 0.005
    shift = np.array([0.3, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(metrics.fid(x, y + shift), 0.09, atol=0.01)


def _mmd2_brute(x, y):
    k = lambda a, b: (a @ b / len(a) + 1.0) ** 3
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_mmd2_matches_brute_force_and_kid_is_unbiased():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(9, 3)) + 0.5
    np.testing.assert_allclose(float(metrics.mmd2_unbiased(x, y)), _mmd2_brute(x, y), rtol=1e-4)
    # Identical distributions: the U-statistic has mean 0 (a biased V-statistic would be > 0).
    key = jax.random.key(0)
    means = []
    for r in range(40):
        a, b = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
        means.append(metrics.kid(a, b, jax.random.fold_in(key, r), num_subsets=10, subset_size=100)["kid"])
    means = np.array(means)
    assert abs(means.mean()) < 3 * means.std(ddof=1) / np.sqrt(len(means))
    shifted = metrics.kid(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) + 1.0, key, num_subsets=10,
                          subset_size=100)
    assert shifted["kid"] > 10 * means.std() and shifted["kid_se"] > 0


def test_inception_score_closed_forms():
    uniform = np.zeros((100, 10))
    assert metrics.inception_score(uniform, 5)["inception_score"] == pytest.approx(1.0, abs=1e-5)
    confident = 50.0 * np.eye(10)[np.arange(100) % 10]  # certain and balanced: IS = number of classes
    assert metrics.inception_score(confident, 5)["inception_score"] == pytest.approx(10.0, rel=1e-4)


def _kth(points, k):
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return np.sort(d, axis=1)[:, k]  # column 0 is the point itself


def _brute_pr_dc(real, fake, k_pr, k_dc):
    d_fr = np.linalg.norm(fake[:, None] - real[None], axis=-1)
    r_pr, f_pr, r_dc = _kth(real, k_pr), _kth(fake, k_pr), _kth(real, k_dc)
    precision = np.mean((d_fr <= r_pr[None]).any(1))
    recall = np.mean((d_fr.T <= f_pr[None]).any(1))
    density = np.mean((d_fr <= r_dc[None]).sum(1)) / k_dc
    coverage = np.mean(d_fr.min(0) <= r_dc)
    return precision, recall, density, coverage


def test_knn_metrics_match_brute_force_and_ignore_order():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(300, 5))
    fake = 1.3 * rng.normal(size=(250, 5)) + 0.4
    p, r, d, c = _brute_pr_dc(real, fake, 3, 5)
    pr = metrics.precision_recall(real, fake, k=3, block=64)
    dc = metrics.density_coverage(real, fake, k=5, block=64)
    np.testing.assert_allclose([pr["precision"], pr["recall"], dc["density"], dc["coverage"]], [p, r, d, c], atol=1e-6)
    perm_r, perm_f = rng.permutation(len(real)), rng.permutation(len(fake))
    pr2 = metrics.precision_recall(real[perm_r], fake[perm_f], k=3, block=100)
    dc2 = metrics.density_coverage(real[perm_r], fake[perm_f], k=5)
    assert pr2 == pr and dc2 == dc


def test_knn_metrics_on_constructed_sets():
    line = np.arange(10.0)[:, None]  # k = 1 radii are all 1
    pr = metrics.precision_recall(line, np.array([[0.5], [20.0]]), k=1)
    assert pr == {"precision": 0.5, "recall": 1.0}  # the two fake balls (radius 19.5) cover the line
    far = metrics.precision_recall(line, line + 100.0, k=1)
    assert far == {"precision": 0.0, "recall": 0.0}
    # A set against itself (no ties): each real ball holds its centre and k neighbours.
    pts = np.random.default_rng(4).normal(size=(200, 3))
    dc = metrics.density_coverage(pts, pts, k=5)
    assert dc["coverage"] == 1.0 and dc["density"] == pytest.approx(6 / 5)


def test_nearest_matches_brute_force():
    rng = np.random.default_rng(5)
    q, ref = rng.normal(size=(37, 4)), rng.normal(size=(53, 4))
    d, i = distances.nearest(q, ref, block=8)
    full = np.linalg.norm(q[:, None] - ref[None], axis=-1)
    np.testing.assert_array_equal(np.asarray(i), full.argmin(1))
    np.testing.assert_allclose(np.asarray(d), full.min(1), rtol=1e-4, atol=1e-4)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="real_features"):
        metrics.fid(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="k=0"):
        distances.kth_neighbour_distance(np.zeros((4, 2)), 0)


_SCRIPT = """
import json, jax, numpy as np
from jaxgen.eval import features, metrics
rng = np.random.default_rng(6)
real, fake = rng.normal(size=(203, 6)), rng.normal(size=(190, 6)) + 0.2
w = rng.normal(size=(12, 5)).astype(np.float32)
net = features.from_function(lambda x: jax.nn.relu(x.reshape(x.shape[0], -1) @ w), "random-relu")
_, emb = features.embed(net, rng.uniform(size=(50, 2, 2, 3)), batch_size=16)
out = {**metrics.precision_recall(real, fake, block=16), **metrics.density_coverage(real, fake, block=16),
       "fid": metrics.fid(real[:200], fake[:192]), "kid": metrics.kid(real, fake, jax.random.key(0), 6, 50)["kid"],
       "embed_sum": float(np.abs(emb).sum()), "devices": jax.device_count()}
print(json.dumps(out))
"""


def test_metrics_same_on_one_and_four_devices():
    results = []
    for devices in (1, 4):
        proc = run([sys.executable, "-c", _SCRIPT], devices=devices)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert results[1].pop("devices") == 4 and results[0].pop("devices") == 1
    for name in results[0]:
        assert results[1][name] == pytest.approx(results[0][name], rel=1e-5, abs=1e-6), name


def test_fid_is_float64_on_nearly_singular_and_small_distances():
    """A collapsed generator's rank-2 features in 64-d, and a small FID beside a large trace:
    both against the closed form of the features' own float64 statistics (float32 linear
    algebra gave 0.438 for 1.281 and 0.01172 for 0.01159 on cases like these)."""
    rng = np.random.default_rng(7)
    d, n = 64, 4000
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    real = (rng.normal(size=(n, 2)) * [3.0, 2.0]) @ basis[:, :2].T
    fake = (rng.normal(size=(n, 2)) * [1.0, 0.5]) @ basis[:, :2].T + 0.1
    real, fake = real.astype(np.float32), fake.astype(np.float32)

    def closed_form(a, b):
        a, b = a.astype(np.float64), b.astype(np.float64)
        ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        cross = scipy.linalg.sqrtm(ca @ cb)
        return np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca + cb - 2 * np.real(cross))

    np.testing.assert_allclose(metrics.fid(real, fake), closed_form(real, fake), rtol=1e-6, atol=1e-8)
    # Full-rank features with a large trace and a small distance between the sets.
    big = (rng.normal(size=(n, d)) * 30.0).astype(np.float32)
    near = (big + 0.01 * rng.normal(size=(n, d))).astype(np.float32)
    np.testing.assert_allclose(metrics.fid(big, near), closed_form(big, near), rtol=1e-5)
