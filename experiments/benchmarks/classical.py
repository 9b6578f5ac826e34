"""Classical models side by side with the libraries a user would otherwise call, in one run:

  GMM EM         jaxgen.classical.fit_gmm      vs sklearn.mixture.GaussianMixture
  HMM            jaxgen forward-backward / Baum-Welch vs hmmlearn GaussianHMM (log and scaling)
  KDE            jaxgen KDE.log_prob            vs scipy.stats.gaussian_kde, sklearn KernelDensity

  pip install ".[bench]" && python -m experiments.benchmarks.classical [--quick] [--out runs/bench_classical.json]

Every comparison runs the same number of iterations from the same data (EM: tol 0, so
both run max_iter; Baum-Welch: both start from the same parameters, so their final
log-likelihoods must agree); jaxgen times exclude compilation (reported separately) and are
the median of `--repeats` calls after one warm-up. Prints a Markdown table.
"""

import argparse
import functools
import json
import os
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np


def _time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def bench_gmm(n, d, k, iters, repeats, rows):
    from sklearn.datasets import make_blobs
    from sklearn.mixture import GaussianMixture

    from jaxgen.classical import fit_gmm

    x, _ = make_blobs(n, n_features=d, centers=k, random_state=0)
    x32 = jnp.asarray(x, jnp.float32)
    for ct in ("full", "diag"):
        key = jax.random.key(0)
        t0 = time.perf_counter()
        jax.block_until_ready(fit_gmm(key, x32, k, ct, max_iter=iters, tol=0.0, kmeans_iters=0))
        compile_s = time.perf_counter() - t0
        ours_s, (p, _) = _time(functools.partial(fit_gmm, key, x32, k, ct, max_iter=iters, tol=0.0, kmeans_iters=0),
                               repeats)
        sk = GaussianMixture(k, covariance_type=ct, max_iter=iters, tol=0.0, init_params="k-means++", random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: tol 0 never converges, by design
            sk_s, _ = _time(functools.partial(sk.fit, x), repeats)
        rows.append({"task": f"GMM EM, {ct}", "data": f"N={n} D={d} K={k}, {iters} iterations",
                     "jaxgen_s": ours_s, "reference": "sklearn GaussianMixture", "reference_s": sk_s,
                     "compile_s": compile_s, "check": f"mean log-lik jaxgen {float(jnp.mean(p.log_prob(x32))):.4f}, "
                                                      f"sklearn {sk.score(x):.4f} (different k-means++ draws)"})


def bench_hmm(n_seq, length, s, d, iters, repeats, rows):
    from hmmlearn.hmm import GaussianHMM

    from jaxgen.classical.gmm import GMM
    from jaxgen.classical.hmm import HMM, forward_backward
    from jaxgen.classical.hmm_fit import baum_welch

    rng = np.random.default_rng(0)
    trans = rng.dirichlet(np.ones(s), size=s) * 0.5 + 0.5 * np.eye(s)
    true = HMM(jnp.log(jnp.full(s, 1.0 / s)), jnp.log(jnp.asarray(trans, jnp.float32)),
               GMM(jnp.zeros((s, 1)), jnp.asarray(rng.normal(0, 2, (s, 1, d)), jnp.float32), jnp.ones((s, 1, d)), "diag"))
    x, _ = true.sample(jax.random.key(0), n_seq, length)
    x_np = np.asarray(x, np.float64).reshape(-1, d)
    lengths = [length] * n_seq
    start = {"startprob_": np.full(s, 1.0 / s), "transmat_": np.full((s, s), 1.0 / s) * 0.5 + 0.5 * np.eye(s),
             "means_": rng.normal(0, 2, (s, d)), "covars_": np.full((s, d), 2.0)}
    p0 = HMM(jnp.log(jnp.asarray(start["startprob_"], jnp.float32)), jnp.log(jnp.asarray(start["transmat_"], jnp.float32)),
             GMM(jnp.zeros((s, 1)), jnp.asarray(start["means_"][:, None], jnp.float32),
                 jnp.sqrt(jnp.asarray(start["covars_"][:, None], jnp.float32)), "diag"))
    mask = jnp.ones((n_seq, length), bool)

    def make(impl, n_iter=iters):
        m = GaussianHMM(s, "diag", n_iter=n_iter, tol=0.0, init_params="", params="stmc", implementation=impl,
                        covars_prior=0.0, min_covar=1e-6)
        for name, v in start.items():
            setattr(m, name, v.copy())
        return m

    @jax.jit
    def posteriors(p):
        return jax.vmap(forward_backward, in_axes=(None, None, 0, 0))(p.log_init, p.log_trans,
                                                                     p.emission_log_prob(x), mask)

    fb = jax.jit(lambda p: baum_welch(p, x, mask, max_iter=iters, tol=0.0, reg_covar=1e-6))
    t0 = time.perf_counter()
    jax.block_until_ready(posteriors(p0))
    compile_fb = time.perf_counter() - t0
    ours_s, post = _time(lambda: posteriors(p0), repeats)
    t0 = time.perf_counter()
    jax.block_until_ready(fb(p0))
    compile_bw = time.perf_counter() - t0
    bw_s, (_, trace) = _time(lambda: fb(p0), repeats)
    data = f"{n_seq} sequences x T={length}, S={s}, D={d}"
    for impl in ("log", "scaling"):
        ref_s, (ll_ref, _) = _time(functools.partial(make(impl).score_samples, x_np, lengths), repeats)
        rows.append({"task": "HMM forward-backward (posteriors + log-lik)", "data": data, "jaxgen_s": ours_s,
                     "reference": f"hmmlearn score_samples ({impl})", "reference_s": ref_s, "compile_s": compile_fb,
                     "check": f"log-lik jaxgen {float(jnp.sum(post.log_likelihood)):.2f}, hmmlearn {ll_ref:.2f}"})
        ref_bw_s, m = _time(lambda impl=impl: make(impl).fit(x_np, lengths), repeats)
        rows.append({"task": "HMM Baum-Welch", "data": f"{data}, {iters} iterations", "jaxgen_s": bw_s,
                     "reference": f"hmmlearn fit ({impl})", "reference_s": ref_bw_s, "compile_s": compile_bw,
                     "check": f"last-iteration log-lik jaxgen {float(trace.log_likelihood[-1]):.2f}, "
                              f"hmmlearn {m.monitor_.history[-1]:.2f}"})


def bench_kde(n, m, d, repeats, rows):
    from scipy.stats import gaussian_kde
    from sklearn.neighbors import KernelDensity

    from jaxgen.classical import fit_kde

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d)).astype(np.float32)
    q = rng.normal(size=(m, d)).astype(np.float32)
    kde = fit_kde(x, "scott")
    f = jax.jit(lambda k, q: k.log_prob(q))
    t0 = time.perf_counter()
    jax.block_until_ready(f(kde, q))
    compile_s = time.perf_counter() - t0
    ours_s, lp = _time(lambda: f(kde, q), repeats)
    ref = gaussian_kde(x.T.astype(np.float64), "scott")
    ref_s, lp_ref = _time(lambda: ref.logpdf(q.T.astype(np.float64)), repeats)
    data = f"N={n} points, M={m} queries, D={d}"
    rows.append({"task": "KDE log-density (Gaussian, Scott)", "data": data, "jaxgen_s": ours_s,
                 "reference": "scipy gaussian_kde.logpdf", "reference_s": ref_s, "compile_s": compile_s,
                 "check": f"max |diff| {float(np.max(np.abs(np.asarray(lp) - lp_ref))):.1e} nats"})
    bw = float(kde.scale_tril[0, 0])  # isotropic data: compare at the same bandwidth
    sk = KernelDensity(bandwidth=bw).fit(x)
    sk_s, _ = _time(lambda: sk.score_samples(q), repeats)
    rows.append({"task": "KDE log-density (Gaussian, Scott)", "data": data + " (sklearn: isotropic bandwidth)",
                 "jaxgen_s": ours_s, "reference": "sklearn KernelDensity (kd-tree, exact)", "reference_s": sk_s,
                 "compile_s": compile_s, "check": ""})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="runs/bench_classical.json")
    args = parser.parse_args()
    rows: list[dict] = []
    if args.quick:
        bench_gmm(2_000, 4, 3, 5, 1, rows)
        bench_hmm(10, 50, 3, 2, 3, 1, rows)
        bench_kde(500, 500, 2, 1, rows)
    else:
        bench_gmm(50_000, 16, 10, 100, args.repeats, rows)
        bench_hmm(200, 500, 8, 4, 20, args.repeats, rows)
        bench_kde(10_000, 10_000, 2, args.repeats, rows)
    print(f"jax {jax.__version__}, devices {jax.devices()}, {os.cpu_count()} CPU threads")
    print("| task | data | jaxgen s | reference | reference s | speed-up | jaxgen compile s | check |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['task']} | {r['data']} | {r['jaxgen_s']:.3f} | {r['reference']} | {r['reference_s']:.3f} | "
              f"{r['reference_s'] / r['jaxgen_s']:.1f}x | {r['compile_s']:.1f} | {r['check']} |")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
