"""Where a training step's time goes: the compiled step of a config profiled with the JAX
profiler, its XLA ops ranked by time per step, each with the model operation it comes from.

  python -m experiments.benchmarks.profile_step --config experiments/configs/dcgan.py:mnist --batch 64

Synthetic 28x28 batches ([0, 1] grey levels, or binary with --binary), the step compiled on one
device as experiments/benchmarks/step_timing.py does. Needs xprof (`pip install -e .[bench]`) to
read the trace. Ops that run concurrently on the intra-op threads overlap, so their times can
add up to more than the step's wall time (printed first).
"""

import argparse
import collections
import glob
import importlib
import json
import re
import tempfile
import time

import jax
import numpy as np

from experiments import overrides
from jaxgen.data import DataSpec
from jaxgen.families import FAMILIES
from jaxgen.train import parallel
from jaxgen.train import state as state_lib


def _op_sources(hlo_text: str) -> dict[str, tuple[str, str]]:
    """HLO instruction name -> (its shape, the jax op_name it was traced from)."""
    out = {}
    for line in hlo_text.splitlines():
        m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = (\S+) .*?op_name=\"([^\"]+)\"", line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def profile(config, batch: int, steps: int, binary: bool, top: int) -> None:
    spec = DataSpec((28, 28, 1), 10, 2 if binary else 256, 60000, 10000)
    rng = np.random.default_rng(0)
    x = rng.random((batch, 28, 28, 1)).astype(np.float32)
    host_batch = {"x": (x < 0.3).astype(np.float32) if binary else x,
                  "label": rng.integers(0, 10, batch).astype(np.int32), "index": np.arange(batch, dtype=np.int32)}
    family = FAMILIES[config.family].build(config, spec)
    par = parallel.make("jit", 1)
    params = family.init_params(jax.random.key(0), host_batch)
    state = par.put_state(state_lib.create(params, family.step.init(params), jax.random.key(1),
                                           ema=config.train.ema_decay > 0, ema_keys=family.ema_keys))
    device_batch = par.put_batch(host_batch)
    compiled = par.compile_step(family.step).lower(state, device_batch).compile()
    for _ in range(3):
        state, _ = compiled(state, device_batch)
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for _ in range(steps):
        state, _ = compiled(state, device_batch)
    jax.block_until_ready(state)
    wall_ms = (time.perf_counter() - t0) / steps * 1e3
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir):
            for _ in range(steps):
                state, _ = compiled(state, device_batch)
            jax.block_until_ready(state)
        from xprof.convert import raw_to_tool_data

        data, _ = raw_to_tool_data.xspace_to_tool_data(glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True),
                                                       "trace_viewer@", {})
    sources = _op_sources(compiled.as_text())
    per_op = collections.Counter()
    for event in json.loads(data)["traceEvents"]:
        if event.get("ph") == "X" and event.get("name") in sources:
            per_op[event["name"]] += event.get("dur", 0) / steps / 1e3
    print(f"step wall time {wall_ms:.1f} ms (batch {batch}); XLA ops, ms per step:")
    print("| ms | op | shape | from |\n|---|---|---|---|")
    kinds = collections.Counter()
    for name, ms in per_op.items():
        kinds[_kind(name, sources[name][1])] += ms
    for name, ms in per_op.most_common(top):
        shape, source = sources[name]
        print(f"| {ms:.2f} | {name} | {shape} | {source.split('/', 1)[-1][-90:]} |")
    print("\n| kind | ms per step |\n|---|---|")
    for kind, ms in kinds.most_common():
        print(f"| {kind} | {ms:.1f} |")


def _kind(name: str, source: str) -> str:
    if "conv_general_dilated" in source or "bhwtc,tcd" in source or "fft" in source:
        return "convolution"
    if "dot_general" in source:
        return "matrix product"
    if "threefry" in source or "random" in source:
        return "random numbers"
    return "elementwise, copies, reductions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="experiments/configs/NAME.py:VARIANT")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--binary", action="store_true", help="binary images (binarised-MNIST configs)")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    path, _, variant = args.config.partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    config = overrides.apply(module.get_config(variant or None), {"data.batch_size": args.batch})
    profile(config, args.batch, args.steps, args.binary, args.top)


if __name__ == "__main__":
    main()
