"""Where a trained DBM's Gibbs chains go: from random states, from the pixel base rates and
from test images, after 1,000 and 10,000 sweeps. A model whose chains leave the test images
for one basin puts its mass there; chains that only fail to leave their start are a mixing
problem.

  python -m experiments.benchmarks.dbm_chains --workdir runs/fits/dbm_mnist

Reads the DBM checkpoint of a `dbm.py:mnist` launcher run; writes chains_START_STEPS.png and
chains.json (mean pairwise L2 distance between the chains' p(v | h1) means: sample diversity)
to the workdir.
"""

import argparse
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import data as data_lib
from jaxgen.data import protocol
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import images
from jaxgen.run import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="runs/fits/dbm_mnist")
    parser.add_argument("--chains", type=int, default=100)
    args = parser.parse_args()
    config, _, params = evaluate.load_run(args.workdir)
    dbm = params["model"]
    loaded = data_lib.load(config.data)
    base_rate = to_model_input(loaded.train["x"], loaded.scale).reshape(len(loaded.train["x"]), -1).mean(0)
    test = protocol.test_set(loaded.test, loaded.scale, config.data.name, True, loaded.spec.num_bins).x
    n, key = args.chains, jax.random.key(5)
    starts = {
        "random": jax.random.bernoulli(jax.random.fold_in(key, 0), 0.5, (n, dbm.a.shape[0])),
        "base_rate": jax.random.bernoulli(jax.random.fold_in(key, 1), jnp.asarray(base_rate), (n, dbm.a.shape[0])),
        "test_images": jnp.asarray(test[:n].reshape(n, -1)),
    }

    @jax.jit
    def sweeps(key, state, num):
        return jax.lax.fori_loop(0, num, lambda i, s: dbm.gibbs_step(jax.random.fold_in(key, i), s), state)

    results = {}
    for name, v0 in starts.items():
        state, done = (v0.astype(jnp.float32), jnp.zeros((n, dbm.b2.shape[0]))), 0
        for total in (1_000, 10_000):
            state = sweeps(jax.random.fold_in(key, total), state, total - done)
            done = total
            mean = np.asarray(dbm.visible_means(state))
            diversity = float(np.sqrt(((mean[:, None] - mean[None]) ** 2).sum(-1)).mean())
            results[f"{name}_{total}"] = diversity
            images.save_image_grid(os.path.join(args.workdir, f"chains_{name}_{total}.png"),
                                   mean.reshape(-1, 28, 28, 1), upscale=2)
            print(f"{name:12s} {total:6d} sweeps: mean pairwise L2 {diversity:.2f}", flush=True)
    with open(os.path.join(args.workdir, "chains.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
