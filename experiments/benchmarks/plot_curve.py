"""Plot train and test negative ELBO against steps from a run's metrics.jsonl.

  python -m experiments.benchmarks.plot_curve runs/vae/metrics.jsonl docs/results/vae_mnist_curve.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(metrics_path: str, out_path: str) -> None:
    with open(metrics_path) as f:
        rows = [json.loads(line) for line in f]
    train = [(r["step"], -r["elbo"]) for r in rows if r["split"] == "train"]
    test = [(r["step"], -r["test_elbo"]) for r in rows if r["split"] in ("eval", "final")]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(*zip(*train), lw=0.8, label="train -ELBO (batch average)")
    ax.plot(*zip(*test), "o-", label="test -ELBO")
    ax.set_ylim(min(v for _, v in test) - 5, min(v for _, v in test) + 40)
    ax.set_xlabel("step")
    ax.set_ylabel("nats")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:3])
