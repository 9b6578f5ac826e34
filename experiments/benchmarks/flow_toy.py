"""Flows on 2-D toy data beside the true density, a GMM and a KDE: test log-likelihoods on one
test set (each flow run's, which must agree) and one figure of the densities next to the data.

  python -m experiments.benchmarks.flow_toy --flows runs/maf_ring8,runs/realnvp_ring8 --out runs/flow_toy_ring8

The GMM (full covariances, K by BIC among --gmm_k, EM with 4 restarts, jaxgen.classical) and the
Gaussian KDE (bandwidth by held-out likelihood on the last 20% of the training split) are
fitted here on the flows' training split. Writes OUT/flow_toy.png, .md and .json.
"""

import argparse
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import data as data_lib
from jaxgen.classical.gmm import bic, fit_gmm, num_parameters
from jaxgen.classical.nonparametric import fit_kde, select_bandwidth
from jaxgen.data import toy
from jaxgen.data.protocol import checksum
from jaxgen.eval import images
from jaxgen.families.flow import make_flow
from jaxgen.models import flow as fl
from jaxgen.run import evaluate as evaluate_lib
from jaxgen.run import workdirs


def _row(name: str, log_p: np.ndarray, params: int | None, true: np.ndarray | None) -> dict:
    row = {"model": name, "test_log_likelihood": float(np.mean(log_p)),
           "se": float(np.std(log_p, ddof=1) / math.sqrt(len(log_p))), "parameters": params}
    if true is not None:
        row["gap_to_true"] = float(np.mean(true - log_p))
    return row


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flows", required=True, help="comma-separated workdirs of flow runs on the same 2-D data")
    p.add_argument("--out", required=True)
    p.add_argument("--gmm_k", default="4,8,16,25,40", help="candidate numbers of GMM components")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    runs = [w.strip() for w in args.flows.split(",") if w.strip()]
    config = evaluate_lib.load_config(runs[0])
    loaded = data_lib.load(config.data)
    train, test = jnp.asarray(loaded.train["x"]), jnp.asarray(loaded.test["x"])
    name = config.data.name
    true = np.asarray(toy.log_density(name, test)) if name in (*toy.MODES, "checkerboard") else None
    rows, densities = [], {}
    if true is not None:
        rows.append(_row("true density", true, None, true))
        densities["true density"] = lambda g: toy.log_density(name, g)
    for workdir in runs:
        run_config, _, params = evaluate_lib.load_run(workdir)
        if workdirs.load_test_set(workdir)["test_checksum"] != checksum(np.asarray(test)):
            raise ValueError(f"{workdir}: its test set differs from {runs[0]}'s (data config {run_config.data})")
        flow, _, _ = make_flow(run_config, workdirs.load_spec(workdir))
        log_p = jax.jit(fl.density(flow))
        m = run_config.model
        base = f", mixture base K = {m.base_components}" if m.get("base_components", 0) else ""
        label = f"{m.architecture.upper()} ({m.layers} layers{base})".replace("REALNVP", "RealNVP")
        count = int(sum(np.size(x) for x in jax.tree.leaves(params)))
        rows.append(_row(label, np.asarray(log_p(params["flow"], test)), count, true))
        densities[label] = lambda g, f=log_p, q=params: f(q["flow"], g)
    fits = [fit_gmm(jax.random.key(k), train, k, "full", n_init=4, max_iter=300)[0] for k in map(int, args.gmm_k.split(","))]
    gmm = min(fits, key=lambda g: float(bic(g, train)))
    label = f"GMM (K = {gmm.means.shape[0]} by BIC)"
    rows.append(_row(label, np.asarray(gmm.log_prob(test)), num_parameters(gmm), true))
    densities[label] = gmm.log_prob
    cut = int(0.8 * len(train))
    factor, _ = select_bandwidth(train[:cut], train[cut:], np.geomspace(1e-3, 2.0, 34))
    kde = fit_kde(train[:cut], factor)
    rows.append(_row(f"KDE (bandwidth factor {factor:.3g})", np.asarray(kde.log_prob(test)), int(np.size(train[:cut])), true))
    densities["KDE"] = kde.log_prob
    images.save_density_panels(os.path.join(args.out, "flow_toy.png"), np.asarray(test), densities)
    with open(os.path.join(args.out, "flow_toy.json"), "w") as f:
        json.dump({"data": name, "test_examples": len(test), "train_examples": len(train), "rows": rows}, f, indent=2)
    lines = [f"{name}: mean test log-likelihood (nats) on {len(test)} points", "",
             "| model | parameters | log-likelihood | gap to the true density |", "|---|---|---|---|"]
    for r in rows:
        gap = f"{r['gap_to_true']:.3f}" if "gap_to_true" in r else "-"
        lines.append(f"| {r['model']} | {r['parameters'] or '-'} | {r['test_log_likelihood']:.3f} ± {r['se']:.3f} | {gap} |")
    with open(os.path.join(args.out, "flow_toy.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
