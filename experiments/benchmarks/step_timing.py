"""Shared timing of one family's compiled training step (used by *_step.py benchmarks), and the
subprocess / table helpers that put jaxgen and its PyTorch peers side by side.

time_step runs inside a fresh process per point, so that peak RSS is the point's own.
"""

import json
import os
import resource
import subprocess
import sys
import time

import jax

from jaxgen.data import DataSpec
from jaxgen.families import FAMILIES
from jaxgen.train import parallel
from jaxgen.train import state as state_lib


def force_lowering(name: str) -> None:
    """Every jaxgen.nn.Conv of this process through lowering `name` ('auto': the per-shape choice)."""
    if name != "auto":
        from jaxgen.nn import lowering

        lowering.choose = lambda *args, **kwargs: name


def time_step(config, spec: DataSpec, make_batch, steps: int, num_batches: int = 4) -> dict:
    """Compile the step of `config` on all local devices (jit Mesh) and time `steps` calls
    on `num_batches` pre-placed batches from make_batch(i); returns compile_s, steps_per_s,
    examples_per_s (per step: len of the batch) and peak_rss_mib."""
    family = FAMILIES[config.family].build(config, spec)
    par = parallel.make("jit", -1)
    params = family.init_params(jax.random.key(0), make_batch(0))
    host = state_lib.create(params, family.step.init(params), jax.random.key(1), ema=config.train.ema_decay > 0,
                            ema_keys=family.ema_keys)
    state = par.put_state(host)
    batches = [par.put_batch(make_batch(i)) for i in range(num_batches)]
    t0 = time.perf_counter()
    compiled = par.compile_step(family.step).lower(state, batches[0]).compile()
    compile_s = time.perf_counter() - t0
    state, metrics = compiled(state, batches[0])
    jax.block_until_ready(metrics)
    sync = len(par.devices) > 1  # see README: CPU all-reduce with queued collectives
    t0 = time.perf_counter()
    for i in range(steps):
        state, metrics = compiled(state, batches[i % num_batches])
        if sync:
            jax.block_until_ready(metrics)
    jax.block_until_ready(state)
    dt = time.perf_counter() - t0
    examples = len(next(iter(make_batch(0).values())))
    return {"devices": len(par.devices), "compile_s": compile_s, "steps_per_s": steps / dt,
            "examples_per_s": steps * examples / dt,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_point(args: list[str], devices: int = 1, module: bool = False) -> dict:
    """Run `python args...` in a fresh process on `devices` fake CPU devices; its last stdout line is JSON."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, *(["-m"] if module else []), *args], env=env, capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark point {args[:1]} {args[2:]} failed:\n{out.stderr[-3000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def median_point(args: list[str], devices: int, repeats: int) -> dict:
    """run_point `repeats` times; the run with the median steps/s (this machine's speed drifts by
    +-15% between runs: one run decides nothing)."""
    rows = sorted((run_point(args, devices) for _ in range(repeats)), key=lambda r: r["steps_per_s"])
    return {**rows[len(rows) // 2], "repeats": repeats}


def torch_rows(args: list[str], model: str, extra: tuple[str, ...] = ()) -> list[dict]:
    """The PyTorch peer (experiments/benchmarks/torch_peers.py) in NCHW and channels_last."""
    rows = []
    for layout in ("NCHW", "channels_last"):
        row = run_point(["experiments.benchmarks.torch_peers", *args, layout, *extra], module=True)
        rows.append({**row, "model": model, "devices": 1})
    return rows


def print_rows(rows: list[dict]) -> None:
    """Markdown table; each jaxgen row gets its ratio to the faster PyTorch row of its model and batch."""
    print("| model | framework | convolutions | devices | batch | compile (s) | steps/s | examples/s | peak RSS (MiB) "
          "| jaxgen / PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        peers = [p for p in rows if p["framework"].startswith("PyTorch") and p["model"].split()[0] == r["model"].split()[0]
                 and p["model"].split()[1:2] == r["model"].split()[1:2] and p["batch"] == r["batch"]]
        ratio = "-"
        if r["framework"] == "jaxgen" and peers:
            ratio = f"{r['steps_per_s'] / max(p['steps_per_s'] for p in peers):.2f}x"
        compile_s = f"{r['compile_s']:.2f}" if "compile_s" in r else "-"
        rss = f"{r['peak_rss_mib']:.0f}" if "peak_rss_mib" in r else "-"
        print(f"| {r['model']} | {r['framework']} | {r.get('lowering', '-')} | {r.get('devices', 1)} | {r['batch']} | {compile_s} | "
              f"{r['steps_per_s']:.2f} | {r['examples_per_s']:.0f} | {rss} | {ratio} |")
