"""A two-layer deep Boltzmann machine on binarised MNIST (Salakhutdinov & Hinton 2009):
greedy pretraining with doubled modules, then PCD with mean-field data statistics; samples
by Gibbs sampling from random states; the mean-field lower bound on the test log-likelihood
with log Z from AIS (on the middle layer; v and h2 summed out).

  python -m experiments.benchmarks.dbm_mnist --workdir runs/dbm_mnist \
      [--hidden 500,1000 --pretrain_epochs 10 --epochs 30 --lr 0.001]

A documented sibling of the training loop (`jaxgen.classical.dbm.pretrain_dbm` then
`fit_dbm`); the binarised images are those of dbn_mnist. Writes samples.png (after
pretraining: samples_pretrained.png), progress.jsonl and results.json to the workdir.
The DBM config (`experiments/configs/dbm.py:mnist`) runs the same fit from the launcher.
"""

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments.benchmarks.dbn_mnist import binarized_mnist
from jaxgen.classical.dbm import ais_log_partition, fit_dbm, pretrain_dbm
from jaxgen.classical.rbm import base_rate_rbm
from jaxgen.eval import images
from jaxgen.sampling.ais import beta_schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="runs/dbm_mnist")
    parser.add_argument("--hidden", default="500,1000")
    parser.add_argument("--pretrain_epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=5, help="CD-k of the pretraining modules")
    parser.add_argument("--epochs", type=int, default=30, help="PCD epochs of the whole DBM")
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--gibbs_steps", type=int, default=1_000)
    parser.add_argument("--ais_betas", type=int, default=14_500)
    parser.add_argument("--mf_iters", type=int, default=30, help="mean-field iterations of the test bound")
    args = parser.parse_args()
    h1, h2 = (int(h) for h in args.hidden.split(","))
    os.makedirs(args.workdir, exist_ok=True)
    train, test = binarized_mnist()
    if os.path.exists(os.path.join(args.workdir, "progress.jsonl")):
        os.remove(os.path.join(args.workdir, "progress.jsonl"))
    t0 = time.perf_counter()

    def report(row):
        row["seconds"] = time.perf_counter() - t0
        with open(os.path.join(args.workdir, "progress.jsonl"), "a") as log:
            log.write(json.dumps(row) + "\n")
        print(row, flush=True)

    def save_samples(dbm, name):
        s = np.asarray(jax.jit(lambda k: dbm.sample(k, 100, args.gibbs_steps))(jax.random.key(1)))
        images.save_image_grid(os.path.join(args.workdir, name), s.reshape(-1, 28, 28, 1), upscale=2)

    def test_mean_field_error(dbm):  # reconstruction of test images through the mean-field posterior
        mu1, _ = dbm.mean_field(jnp.asarray(test[:2000]))
        return float(jnp.mean((test[:2000] - jax.nn.sigmoid(dbm.a + mu1 @ dbm.w1.T)) ** 2))

    dbm = pretrain_dbm(jax.random.key(0), train, h1, h2, num_epochs=args.pretrain_epochs, k=args.k,
                       learning_rate=0.05, momentum=0.9,
                       callback=lambda layer, e, r, err: report({"pretrain_layer": layer, "epoch": e, "recon_error": err}))
    pretrain_s = time.perf_counter() - t0
    save_samples(dbm, "samples_pretrained.png")
    report({"phase": "pretrained", "test_recon_error": test_mean_field_error(dbm)})
    dbm = fit_dbm(jax.random.key(2), train, h1, h2, num_epochs=args.epochs, learning_rate=args.lr, momentum=0.9,
                  init=dbm, callback=lambda e, d: report({"pcd_epoch": e, "test_recon_error": test_mean_field_error(d)}))
    train_s = time.perf_counter() - t0
    save_samples(dbm, "samples.png")
    base = base_rate_rbm(jnp.asarray(train), 1).a
    ais = jax.jit(lambda k: ais_log_partition(dbm, k, beta_schedule(args.ais_betas, "salakhutdinov_murray"), 100,
                                              base))(jax.random.key(3))
    bound = jax.jit(lambda v: dbm.elbo(v, ais.log_z, args.mf_iters))
    per_example = np.concatenate([np.asarray(bound(jnp.asarray(b))) for b in np.array_split(test, 20)])
    results = {"hidden": [h1, h2], "pretrain_epochs": args.pretrain_epochs, "k": args.k, "pcd_epochs": args.epochs,
               "lr": args.lr, "pretrain_seconds": pretrain_s, "train_seconds": train_s,
               "test_recon_error": test_mean_field_error(dbm), "log_z": float(ais.log_z),
               "log_z_se": float(ais.stderr), "test_lower_bound": float(per_example.mean()),
               "test_lower_bound_se": float(per_example.std() / np.sqrt(len(per_example)))}
    with open(os.path.join(args.workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))
    print(f"Samples: {os.path.join(args.workdir, 'samples.png')}")


if __name__ == "__main__":
    main()
