"""Shared timing of one family's compiled training step (used by *_step.py benchmarks).

Run inside a fresh process per point, so that peak RSS is the point's own.
"""

import resource
import time

import jax

from jaxgen.data import DataSpec
from jaxgen.families import FAMILIES
from jaxgen.train import parallel
from jaxgen.train import state as state_lib


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
