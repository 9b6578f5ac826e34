"""Cold vs warm launch with the persistent compilation cache: wall time from process start to the
first training step, whole-launch wall time, and seconds spent compiling (XLA backend compile
or, warm, loading the compiled program from the cache), for short launches of real configs.

  python -m experiments.benchmarks.compile_cache --out runs/bench/compile_cache.jsonl

Each config runs twice in fresh processes and fresh workdirs on one new, empty cache
directory: cold (empty cache), then warm (a relaunch: every program it needs is cached).
Compile seconds are the sum of JAX's '/jax/core/compile/backend_compile_duration' events;
tracing and lowering to StableHLO are not cached and are reported apart.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CONFIGS = {  # name -> (config, overrides): a short launch that still compiles every program
    "vae.py:mnist": ("experiments/configs/vae.py:mnist",
                     ["--config.train.num_steps=20", "--config.eval.num_examples=1000",
                      "--config.eval.final_iwae_samples=10", "--config.eval.iwae_chunk=10"]),
    "dcgan.py:mnist": ("experiments/configs/dcgan.py:mnist",
                       ["--config.train.num_steps=20", "--config.eval.num_examples=1000"]),
    "gmm.py:grid25": ("experiments/configs/gmm.py:grid25", []),
}

DRIVER = r"""
import json, sys, time
t_start = float(sys.argv[1])
from jax import monitoring
totals = {"compile_s": 0.0, "trace_s": 0.0, "lower_s": 0.0}
names = {"/jax/core/compile/backend_compile_duration": "compile_s", "/jax/core/compile/jaxpr_trace_duration": "trace_s",
         "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s"}
def listen(event, duration, **kw):
    if event in names:
        totals[names[event]] += duration
monitoring.register_event_duration_secs_listener(listen)
counts = {"cache_hits": 0, "cache_misses": 0}
def count(event, **kw):
    key = event.rsplit("/", 1)[-1]
    if key in counts:
        counts[key] += 1
monitoring.register_event_listener(count)
from experiments import launch
first = {}
class FirstStep:
    every = 1
    def run(self, writer, step, params, final):
        first.setdefault("first_step_s", time.time() - t_start)
        return {}
import jaxgen.run
real = jaxgen.run.train_and_evaluate
jaxgen.run.train_and_evaluate = lambda c, w, hooks=(): real(c, w, hooks=(*hooks, FirstStep()))  # launch.main's call
from absl import app
from experiments import overrides
sys.argv = ["launch", *sys.argv[2:]]
try:
    app.run(launch.main, flags_parser=overrides.parse_flags_or_exit)
except SystemExit:
    pass
print(json.dumps({**totals, **counts, **first, "wall_s": time.time() - t_start}))
"""


def launch(config: str, overrides: list[str], workdir: str, cache: str) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env.pop("XLA_FLAGS", None)
    args = [sys.executable, "-c", DRIVER, repr(time.time()), f"--config={config}", f"--workdir={workdir}",
            f"--compilation_cache={cache}", "--config.train.progress=False", *overrides]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"{config} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    rows = []
    for name in args.configs.split(","):
        config, overrides = CONFIGS[name]
        with tempfile.TemporaryDirectory() as tmp:
            cache = os.path.join(tmp, "cache")
            for kind in ("cold", "warm"):
                row = {"config": name, "launch": kind, **launch(config, overrides, os.path.join(tmp, kind), cache)}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "a") as f:
            f.writelines(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), **r}) + "\n" for r in rows)
    print("| config | launch | to first step (s) | whole launch (s) | compile or load (s) | trace + lower (s) | "
          "cache hits / misses | warm / cold compile |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cold = next(c for c in rows if c["config"] == r["config"] and c["launch"] == "cold")
        first = f"{r['first_step_s']:.1f}" if "first_step_s" in r else "-"
        ratio = f"{r['compile_s'] / cold['compile_s']:.0%}" if r["launch"] == "warm" else "-"
        print(f"| {r['config']} | {r['launch']} | {first} | {r['wall_s']:.1f} | {r['compile_s']:.2f} | "
              f"{r['trace_s'] + r['lower_s']:.2f} | {r['cache_hits']} / {r['cache_misses']} | {ratio} |")


if __name__ == "__main__":
    main()
