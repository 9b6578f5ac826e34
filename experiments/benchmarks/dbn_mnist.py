"""A two-layer deep belief network on binarised MNIST: greedy CD training, samples, and the
variational lower bound on the test log-likelihood with the top RBM's log Z from AIS.

  python -m experiments.benchmarks.dbn_mnist --workdir runs/dbn_mnist [--hidden 500,500 --epochs 10 --k 5]

A documented sibling of the training loop (greedy layer-wise fitting is a sequence of RBM fits,
`jaxgen.classical.dbn.fit_dbn`). The training images are binarised once (seed 0), the test
images too (seed 1). Writes samples.png, progress.jsonl and results.json to the workdir.
"""

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs.base import get_base_config
from jaxgen import data as data_lib
from jaxgen.classical.dbn import fit_dbn
from jaxgen.classical.rbm import ais_log_partition, base_rate_rbm
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import images
from jaxgen.sampling.ais import beta_schedule


def binarized_mnist() -> tuple[np.ndarray, np.ndarray]:
    """[60000, 784] and [10000, 784] float32 {0, 1}: each pixel on with its intensity as
    probability, drawn once (seeds 0 and 1)."""
    c = get_base_config()
    c.data.name = "mnist"
    loaded = data_lib.load(c.data)
    x = to_model_input(loaded.train["x"], loaded.scale).reshape(len(loaded.train["x"]), -1)
    xt = to_model_input(loaded.test["x"], loaded.scale).reshape(len(loaded.test["x"]), -1)
    return ((np.random.default_rng(0).random(x.shape) < x).astype(np.float32),
            (np.random.default_rng(1).random(xt.shape) < xt).astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="runs/dbn_mnist")
    parser.add_argument("--hidden", default="500,500")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--persistent", action="store_true")
    parser.add_argument("--ais_betas", type=int, default=14_500)
    parser.add_argument("--gibbs_steps", type=int, default=1_000)
    args = parser.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    if len(hidden) != 2:
        raise SystemExit(f"--hidden must give two layer widths (the lower bound is for two-layer DBNs), got {hidden}")
    os.makedirs(args.workdir, exist_ok=True)
    train, test = binarized_mnist()
    t0 = time.perf_counter()
    with open(os.path.join(args.workdir, "progress.jsonl"), "w") as log:
        def progress(layer, epoch, rbm, err):
            row = {"layer": layer, "epoch": epoch, "recon_error": err, "seconds": time.perf_counter() - t0}
            log.write(json.dumps(row) + "\n")
            log.flush()
            print(row, flush=True)

        dbn = fit_dbn(jax.random.key(0), train, hidden, callback=progress, num_epochs=args.epochs, batch_size=100,
                      learning_rate=0.05, k=args.k, persistent=args.persistent, momentum=0.9)
    train_s = time.perf_counter() - t0
    samples = np.asarray(dbn.sample(jax.random.key(1), 100, args.gibbs_steps)).reshape(-1, 28, 28, 1)
    images.save_image_grid(os.path.join(args.workdir, "samples.png"), samples, upscale=2)
    top = dbn.layers[1]
    h1 = dbn.up(jnp.asarray(train[:10_000]), 1)
    base = base_rate_rbm(h1, top.b.shape[0]).a
    ais = jax.jit(lambda k: ais_log_partition(top, k, beta_schedule(args.ais_betas, "salakhutdinov_murray"), 100,
                                              base))(jax.random.key(2))
    bound = jax.jit(lambda k, v: dbn.lower_bound(k, v, ais.log_z, 10))
    per_example = np.concatenate([np.asarray(bound(jax.random.fold_in(jax.random.key(3), i), jnp.asarray(b)))
                                  for i, b in enumerate(np.array_split(test, 20))])
    results = {"hidden": hidden, "epochs": args.epochs, "k": args.k, "persistent": args.persistent,
               "train_seconds": train_s, "top_log_z": float(ais.log_z), "top_log_z_se": float(ais.stderr),
               "test_lower_bound": float(per_example.mean()),
               "test_lower_bound_se": float(per_example.std() / np.sqrt(len(per_example)))}
    with open(os.path.join(args.workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))
    print(f"Samples: {os.path.join(args.workdir, 'samples.png')}")


if __name__ == "__main__":
    main()
