"""Classifier-free guidance weight against sample quality, on one trained class-conditional
diffusion model: for each weight w, class-balanced samples drawn from the same initial noise, then

- CAS (Ravuri & Vinyals 2019): a classifier trained only on the samples and their intended
  labels, its accuracy on the real test set (beside it the ceiling: the same fit on as many real
  training images);
- label agreement: how often the in-repo feature net's classifier names the intended label;
- FID against the test set on that feature net (biased upwards below 10,000 samples: compare rows).

  python -m experiments.benchmarks.guidance --run runs/ddpm_mnist_cond \\
      --feature_net runs/leaderboard_mnist/feature_net --out runs/guidance --weights 0,0.5,1,2,3

Writes OUT/guidance.json (row by row; a rerun skips finished weights), guidance.md and
guidance.png (a row per weight, a column per class, the same noise in every row).
"""

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from jaxgen import data as data_lib
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import cas, images, metrics
from jaxgen.eval.features import embed
from jaxgen.families.diffusion import make_model
from jaxgen.models import diffusion as dm
from jaxgen.run import evaluate as evaluate_lib
from jaxgen.run import workdirs
from jaxgen.run.features import load_classifier


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="workdir of a finished class-conditional ddpm.py run")
    p.add_argument("--feature_net", required=True, help="workdir of a classifier.py run on the same data")
    p.add_argument("--out", required=True)
    p.add_argument("--weights", default="0,0.5,1,2,3", help="guidance weights w (0: the conditional model)")
    p.add_argument("--num", type=int, default=2000, help="samples per weight, class-balanced")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--sampler", default="ddim", choices=dm.SAMPLERS)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cas_epochs", type=int, default=3)
    args = p.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    if any(w < -1 for w in weights):
        raise SystemExit(f"--weights: {args.weights!r}; w < -1 extrapolates away from the conditional model")
    config, _, params = evaluate_lib.load_run(args.run)
    if config.model.get("conditioning", "none") != "label":
        raise SystemExit(f"--run {args.run!r} is not class-conditional (config.model.conditioning="
                         f"{config.model.get('conditioning')!r})")
    spec = workdirs.load_spec(args.run)
    model = make_model(config, spec)
    k = model.num_classes
    if args.num % k or args.batch % k:
        raise SystemExit(f"--num {args.num} and --batch {args.batch} must be multiples of the {k} classes")
    os.makedirs(args.out, exist_ok=True)
    loaded = data_lib.load(config.data)
    train_x, test_x = (to_model_input(s["x"], loaded.scale) for s in (loaded.train, loaded.test))
    train_y, test_y = np.asarray(loaded.train["label"]), np.asarray(loaded.test["label"])
    net = load_classifier(args.feature_net)
    _, real = embed(net, test_x)
    log = os.path.join(args.out, "guidance.json")
    rows = []
    if os.path.exists(log):
        with open(log) as f:
            rows = json.load(f)
    labels = jnp.arange(args.batch) % k
    key = jax.random.key(0)
    grid = []
    for w in weights:
        row_grid = os.path.join(args.out, f"grid_w{w:g}.npy")
        done = any(r["guidance"] == w and r["num"] == args.num and r["steps"] == args.steps for r in rows)
        if done and os.path.exists(row_grid):
            grid.append(np.load(row_grid))
            continue
        draw = jax.jit(lambda p, key_, w=w: dm.sample(model, p, key_, (args.batch, *spec.shape), args.sampler,
                                                       args.steps, labels, w)).lower(params, key).compile()
        t0 = time.perf_counter()
        batches = [np.asarray(draw(params, jax.random.fold_in(key, i)))
                   for i in tqdm(range(args.num // args.batch), desc=f"w={w:g}", unit="batch")]
        seconds = time.perf_counter() - t0
        fake = np.concatenate(batches)
        fake_y = np.tile(np.asarray(labels), len(batches))
        grid.append(fake[:k])
        np.save(row_grid, fake[:k])
        logits, feats = embed(net, fake)
        scores = cas.classification_accuracy_score(fake, fake_y, train_x, train_y, test_x, test_y, k,
                                                   jax.random.fold_in(key, 10_000), args.cas_epochs)
        row = {"guidance": w, "num": args.num, "sampler": args.sampler, "steps": args.steps, **scores,
               "label_agreement": float(np.mean(np.argmax(logits, -1) == fake_y)),
               "fid": metrics.fid(real, feats), "seconds_per_1000": 1000 * seconds / args.num,
               "feature_net": net.id, "run": args.run, "date": time.strftime("%Y-%m-%d")}
        rows = [r for r in rows if not (r["guidance"] == w and r["steps"] == args.steps)] + [row]
        with open(log, "w") as f:
            json.dump(rows, f, indent=2)
        print(json.dumps(row), flush=True)
    lines = ["| w | CAS | CAS ceiling (real) | label agreement | FID | s per 1,000 samples |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['guidance']:g} | {r['cas']:.4f} | {r['cas_real_ceiling']:.4f} | {r['label_agreement']:.4f} | "
              f"{r['fid']:.2f} | {r['seconds_per_1000']:.0f} |" for r in sorted(rows, key=lambda r: r["guidance"])]
    with open(os.path.join(args.out, "guidance.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    images.save_image_grid(os.path.join(args.out, "guidance.png"), np.concatenate(grid), num_cols=k,
                           upscale=images.grid_upscale(spec.shape[0]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
