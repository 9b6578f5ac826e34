"""Mode collapse table: every GAN loss (and the diffusion model) on ring8 / grid25, several seeds.

  python -m experiments.benchmarks.gan_modes --datasets ring8,grid25 --seeds 0,1,2,3,4 --workdir runs/gan_modes
  python -m experiments.benchmarks.gan_modes --losses diffusion --workdir runs/gan_modes

Each (dataset, loss, seed) is one ordinary run of `gan.py:DATASET_LOSS` (loss 'diffusion':
`ddpm.py:DATASET`, its mode coverage from the evaluation after training) with
config.seed = seed (the data are the same; initialisation, batches and noise
change). Writes gan_modes.jsonl (one line per run, appended as runs finish, so
a rerun skips finished runs) and gan_modes.md (mean +- std over seeds of modes
covered, high-quality fraction and mode KL, 2,500 samples each).
"""

import argparse
import contextlib
import io
import json
import os
import time

import numpy as np

from experiments import overrides
from experiments.configs import ddpm, gan

DIFFUSION = "diffusion"  # the row of ddpm.py:DATASET (its sampler by config: DDIM, 50 steps)


def _config(data: str, loss: str, seed: int, extra: dict):
    base = ddpm.get_config(data) if loss == DIFFUSION else gan.get_config(f"{data}_{loss}")
    return overrides.apply(base, {"seed": seed, "train.progress": False, "checkpoint.every_steps": 0, **extra})


def _modes(result: dict, workdir: str) -> dict:
    """The mode statistics of a run: a GAN's final metrics, or the diffusion run's last 'evals' record."""
    if "modes_covered" in result:
        return result
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [r for r in map(json.loads, f) if r.get("split") == "evals"][-1]


def table(rows: list[dict]) -> str:
    lines = ["| data | loss | seeds | modes covered | high-quality % | KL(modes) | train s/run |", "|---|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r["data"], r["loss"]) for r in rows))
    for data, loss in keys:
        sel = [r for r in rows if (r["data"], r["loss"]) == (data, loss)]
        m = np.array([r["modes_covered"] for r in sel])
        hq = 100 * np.array([r["high_quality_fraction"] for r in sel])
        kl = np.array([r["mode_kl"] for r in sel])
        secs = np.mean([r["seconds"] for r in sel])
        kl_text = f"{kl.mean():.2f} ± {kl.std():.2f}" if np.all(np.isfinite(kl)) else "inf (no high-quality sample)"
        lines.append(f"| {data} | {loss} | {len(sel)} | {m.mean():.1f} ± {m.std():.1f} | {hq.mean():.1f} ± {hq.std():.1f} "
                     f"| {kl_text} | {secs:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ring8,grid25")
    parser.add_argument("--losses", default=",".join(gan.LOSSES), help=f"GAN losses and/or {DIFFUSION!r}")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--workdir", default="runs/gan_modes")
    parser.add_argument("--set", action="append", default=[], help="extra override key=value for every run")
    args = parser.parse_args()
    extra = {k: overrides.parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    os.makedirs(args.workdir, exist_ok=True)
    log = os.path.join(args.workdir, "gan_modes.jsonl")
    rows = []
    if os.path.exists(log):
        with open(log) as f:
            rows = [json.loads(line) for line in f]
    done = {(r["data"], r["loss"], r["seed"]) for r in rows}
    runs = [(d, loss, int(s)) for d in args.datasets.split(",") for loss in args.losses.split(",")
            for s in args.seeds.split(",")]
    from jaxgen.run import train_and_evaluate

    for i, (data, loss, seed) in enumerate(runs):
        if (data, loss, seed) in done:
            continue
        config = _config(data, loss, seed, extra)
        workdir = os.path.join(args.workdir, f"{data}_{loss}_seed{seed}")
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            result = _modes(train_and_evaluate(config, workdir), workdir)
        row = {"data": data, "loss": loss, "seed": seed, "seconds": time.perf_counter() - t0,
               **{k: result[k] for k in ("modes_covered", "high_quality_fraction", "mode_kl")}}
        rows.append(row)
        with open(log, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"[{i + 1}/{len(runs)}] {data} {loss} seed {seed}: {row['modes_covered']:.0f} modes, "
              f"{100 * row['high_quality_fraction']:.1f}% high quality ({row['seconds']:.0f} s)", flush=True)
        with open(os.path.join(args.workdir, "gan_modes.md"), "w") as f:
            f.write(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
