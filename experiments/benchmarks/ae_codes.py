"""Why an autoencoder is not a generative model, and the fix: its decoder fed random codes
N(0, I), fed samples of a Gaussian fitted to the training codes, fed samples of a GMM fitted to
them (jaxgen.families.autoencoder.code_densities), beside a VAE's samples; FID, precision and
recall of each against the test images in the in-repo feature net's space; one figure (a row of
samples each) and one table.

  python -m experiments.benchmarks.ae_codes --ae runs/ae --vae runs/vae --feature_net runs/classifier \\
      --out runs/ae_codes --num 5000

Writes OUT/ae_codes.png, OUT/ae_codes.md and OUT/ae_codes.json.
"""

import argparse
import json
import os

import jax
import numpy as np

from jaxgen import data as data_lib
from jaxgen.data.pipeline import to_model_input
from jaxgen.data.protocol import binarize_fixed
from jaxgen.eval import images, metrics
from jaxgen.eval.features import embed
from jaxgen.families.autoencoder import DENSITIES, code_densities, encode_all, make_model
from jaxgen.run import evaluate as evaluate_lib
from jaxgen.run import workdirs
from jaxgen.run.features import load_classifier


def _draw(fn, key, n: int, chunk: int = 1000) -> np.ndarray:
    return np.concatenate([np.asarray(fn(jax.random.fold_in(key, i), min(chunk, n - i)))
                           for i in range(0, n, chunk)])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ae", required=True, help="workdir of an ae.py / dae.py run")
    p.add_argument("--vae", default="", help="workdir of a vae.py run on the same data (optional)")
    p.add_argument("--feature_net", required=True, help="workdir of a classifier.py run on the same data")
    p.add_argument("--out", required=True)
    p.add_argument("--num", type=int, default=5000, help="samples per row of the table")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    config, _, params = evaluate_lib.load_run(args.ae)
    model, obs = make_model(config, workdirs.load_spec(args.ae))
    loaded = data_lib.load(config.data)
    train = to_model_input(loaded.train["x"][:config.model.density_fit_examples], loaded.scale)
    codes = encode_all(model, params, binarize_fixed(train) if config.data.binarize else train)
    key = jax.random.key(0)
    samplers = code_densities(jax.random.fold_in(key, 1), codes, config.model.gmm_components)
    decode = jax.jit(lambda z: obs.mean(model.apply(params, z, method=type(model).decode)))
    rows = {f"AE decoder, {name} codes": _draw(lambda k, n, s=samplers[name]: decode(s(k, n)), key, args.num)
            for name in DENSITIES}
    if args.vae:
        _, vae_family, vae_params = evaluate_lib.load_run(args.vae)
        sample = jax.jit(vae_family.sample, static_argnums=2)
        rows["VAE"] = _draw(lambda k, n: sample(vae_params, k, n), key, args.num)
    net = load_classifier(args.feature_net)
    test = to_model_input(loaded.test["x"], loaded.scale)
    _, real = embed(net, test)
    table = []
    for name, samples in rows.items():
        _, fake = embed(net, samples)
        table.append({"samples": name, "fid": metrics.fid(real, fake), **metrics.precision_recall(real, fake),
                      "num": args.num, "feature_net": net.id, "reference": f"{len(test)} {config.data.name} test images"})
        print(json.dumps(table[-1]))
    up = images.grid_upscale(test.shape[1])
    images.save_image_grid(os.path.join(args.out, "ae_codes.png"), np.concatenate([s[:16] for s in rows.values()]),
                           num_cols=16, upscale=up)
    with open(os.path.join(args.out, "ae_codes.json"), "w") as f:
        json.dump(table, f, indent=2)
    lines = ["| samples (figure row) | FID | precision | recall |", "|---|---|---|---|"]
    lines += [f"| {r['samples']} | {r['fid']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} |" for r in table]
    with open(os.path.join(args.out, "ae_codes.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
