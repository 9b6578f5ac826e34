"""Generative vs discriminative classifiers as the training set grows (Ng & Jordan 2002):

  python -m experiments.benchmarks.generative_vs_discriminative [--sizes 20,50,...] [--seeds 5]

On scikit-learn's embedded 8x8 digits (1,797 images; 597 held out for testing), each
generative classifier (`jaxgen.classical.bayes`) and multinomial logistic regression is fitted
on the first n training images of a random permutation (stratified so that every class
occurs), for several seeds. Bernoulli naive Bayes sees the pixels thresholded at 8 of 16.
Writes a JSONL of every fit and prints mean test accuracy (%) per model and size.
"""

import argparse
import json
import os

import jax
import numpy as np
from sklearn.datasets import load_digits

from jaxgen.classical.bayes import fit_bayes_classifier, fit_logistic_regression

MODELS = ("gaussian_nb", "bernoulli_nb", "lda", "qda", "gmm", "logistic_regression")


def subset(rng, y, n, num_classes):
    """n indices with every class present (one of each first, the rest at random)."""
    first = [rng.choice(np.flatnonzero(y == c)) for c in range(num_classes)]
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), first))[: n - num_classes]
    return np.concatenate([first, rest])


def fit_predict(model, x, y, xt, seed):
    if model == "logistic_regression":
        return np.asarray(fit_logistic_regression(x, y, 10, l2=1e-3).predict(xt))
    if model == "bernoulli_nb":
        x, xt = (x > 0.5).astype(np.float32), (xt > 0.5).astype(np.float32)
    kw = {"reg": 0.05} if model in ("lda", "qda", "gmm") else {}
    clf = fit_bayes_classifier(x, y, 10, model, key=jax.random.key(seed), num_components=2, **kw)
    return np.asarray(clf.predict(xt))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20,50,100,200,500,1200")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", default="runs/generative_vs_discriminative.jsonl")
    args = parser.parse_args()
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    perm = np.random.default_rng(0).permutation(len(y))
    train, test = perm[:1200], perm[1200:]
    rows = []
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        for n in map(int, args.sizes.split(",")):
            for seed in range(args.seeds):
                idx = train[subset(np.random.default_rng(seed), y[train], n, 10)]
                for model in args.models.split(","):
                    if model == "gmm" and n < 100:
                        continue  # 2 full-covariance components per class need more than a few images
                    acc = float(np.mean(fit_predict(model, x[idx], y[idx], x[test], seed) == y[test]))
                    row = {"n": n, "seed": seed, "model": model, "test_accuracy": acc}
                    rows.append(row)
                    f.write(json.dumps(row) + "\n")
            print(f"n={n} done", flush=True)
    models = [m for m in args.models.split(",")]
    print("| train images | " + " | ".join(models) + " |")
    print("|---|" + "---|" * len(models))
    for n in map(int, args.sizes.split(",")):
        cells = []
        for m in models:
            accs = [r["test_accuracy"] for r in rows if r["n"] == n and r["model"] == m]
            cells.append(f"{100 * np.mean(accs):.1f} ± {100 * np.std(accs):.1f}" if accs else "-")
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
