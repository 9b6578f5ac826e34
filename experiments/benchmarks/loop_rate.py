"""The training loop's rate against the bare compiled step, in one run: `vae.py:mnist` (MLP,
dynamically binarised MNIST, batch 128) launched through the run shell with the input pipeline
prefetching (data.prefetch=2, the default) and without (data.prefetch=0), beside the bare step
on pre-placed batches (experiments/benchmarks/step_timing.py).

  python -m experiments.benchmarks.loop_rate --steps 4000

The loop's rate is the median of its logged steps_per_s windows after the first (which holds
compilation); each rate is the median over --repeats interleaved rounds. Needs the MNIST files ($JAXGEN_DATA_DIR or ../shared/data).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from experiments.benchmarks.step_timing import run_point
from experiments.benchmarks.vae_step import WORKER


def loop_rate(steps: int, prefetch: int, batch: int, log_every: int) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        args = [sys.executable, "-m", "experiments.launch", "--config=experiments/configs/vae.py:mnist",
                f"--workdir={workdir}", f"--config.train.num_steps={steps}", f"--config.data.prefetch={prefetch}",
                f"--config.data.batch_size={batch}", f"--config.train.log_every={log_every}",
                "--config.eval.every_steps=0", "--config.eval.num_examples=500", "--config.eval.final_iwae_samples=10",
                "--config.eval.iwae_chunk=10", "--config.checkpoint.every_steps=0", "--config.train.progress=False"]
        env = dict(os.environ, JAX_PLATFORMS="cpu")
        env.pop("XLA_FLAGS", None)
        out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        with open(os.path.join(workdir, "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f]
    rates = [r["steps_per_s"] for r in rows if r.get("split") == "train" and "steps_per_s" in r]
    return statistics.median(rates[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--log_every", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of (bare, prefetch 2, prefetch 0); medians")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"bare step (pre-placed batches)": [], "loop, data.prefetch=2": [],
                                     "loop, data.prefetch=0": []}
    for _ in range(args.repeats):  # interleaved, so that drifts of the machine's speed hit all three
        rates["bare step (pre-placed batches)"].append(
            run_point(["-c", WORKER, str(args.batch), str(args.steps), "mlp", "auto"])["steps_per_s"])
        for prefetch in (2, 0):
            rate = loop_rate(args.steps, prefetch, args.batch, args.log_every)
            rates[f"loop, data.prefetch={prefetch}"].append(rate)
            print(json.dumps({"prefetch": prefetch, "steps_per_s": rate}), file=sys.stderr, flush=True)
    rows = [(name, statistics.median(values)) for name, values in rates.items()]
    bare = rows[0][1]
    print(f"| vae.py:mnist, batch {args.batch} | steps/s | of the bare step |\n|---|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:.1f} | {rate / bare:.0%} |")


if __name__ == "__main__":
    main()
