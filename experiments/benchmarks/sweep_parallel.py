"""Wall time of one sweep run with `--executor local` at `--parallel 1` and at `--parallel N`,
and whether the two give the same results table (they must: each point is the same run, only
the cores it gets differ).

  python -m experiments.benchmarks.sweep_parallel --config experiments/configs/vae.py:digits \\
      --set optim.lr=1e-3,3e-3 --set model.latent_dim=4,8 --parallel 2 --out runs/sweep_parallel

Runs `python -m experiments.sweep` twice from scratch (OUT/parallel_1, OUT/parallel_N) and
writes OUT/sweep_parallel.json and .md: wall times, the speed-up and the largest relative
difference between the two tables' numbers.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time


def run_sweep(config: str, sets: list[str], parallel: int, workdir: str) -> float:
    if os.path.exists(workdir):
        shutil.rmtree(workdir)
    cmd = [sys.executable, "-m", "experiments.sweep", f"--config={config}", f"--workdir={workdir}",
           "--executor=local", f"--parallel={parallel}", *(f"--set={s}" for s in sets)]
    print("+ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def read_table(workdir: str) -> list[dict]:
    with open(os.path.join(workdir, "sweep_results.csv")) as f:
        return list(csv.DictReader(f))


def largest_difference(a: list[dict], b: list[dict]) -> float:
    """The largest |x - y| / max(|x|, 1e-12) over the numeric cells; inf if the tables differ in shape."""
    if len(a) != len(b) or any(ra.keys() != rb.keys() for ra, rb in zip(a, b)):
        return float("inf")
    worst = 0.0
    for ra, rb in zip(a, b):
        for k in ra:
            try:
                x, y = float(ra[k]), float(rb[k])
            except ValueError:
                if ra[k] != rb[k]:
                    return float("inf")
                continue
            worst = max(worst, abs(x - y) / max(abs(x), 1e-12))
    return worst


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="experiments/configs/vae.py:digits")
    p.add_argument("--set", action="append", default=None, help="key=v1,v2 (several: a product)")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--out", default="runs/sweep_parallel")
    args = p.parse_args()
    sets = args.set or ["optim.lr=1e-3,3e-3", "model.latent_dim=4,8"]
    one = run_sweep(args.config, sets, 1, os.path.join(args.out, "parallel_1"))
    many = run_sweep(args.config, sets, args.parallel, os.path.join(args.out, f"parallel_{args.parallel}"))
    a, b = read_table(os.path.join(args.out, "parallel_1")), read_table(os.path.join(args.out, f"parallel_{args.parallel}"))
    result = {"config": args.config, "set": sets, "points": len(a), "parallel": args.parallel,
              "wall_s_parallel_1": one, f"wall_s_parallel_{args.parallel}": many, "speedup": one / many,
              "largest_relative_difference": largest_difference(a, b), "cpus": os.cpu_count(),
              "machine": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d")}
    with open(os.path.join(args.out, "sweep_parallel.json"), "w") as f:
        json.dump(result, f, indent=2)
    md = (f"| points | --parallel 1 | --parallel {args.parallel} | speed-up | largest relative difference |\n"
          f"|---|---|---|---|---|\n| {len(a)} | {one:.0f} s | {many:.0f} s | {one / many:.2f}x | "
          f"{result['largest_relative_difference']:.1e} |\n")
    with open(os.path.join(args.out, "sweep_parallel.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
