"""python -m tests.train.distributed_worker PROCESS_ID NUM_PROCESSES PORT WORKDIR TERM_AT [KEY=VALUE ...]

One process of a multi-process run of experiments/configs/vae.py:smoke (with the overrides)
joined through jax.distributed on localhost:PORT. Before training it checks the data layout:
this process's batch holds only its rows of the global batch, and the global array built from
every process's rows is the global batch. With TERM_AT > 0, process 0 sends itself SIGTERM after
that step (a preemption notice from the scheduler, at a chosen step); exits 75 when preempted.
"""

import os
import signal
import sys
import time


def check_batches(config) -> None:
    import jax
    import numpy as np
    from jax.experimental import multihost_utils

    from jaxgen import data as data_lib
    from jaxgen.train import parallel

    loaded = data_lib.load(config.data)
    n, p, count = config.data.batch_size, jax.process_index(), jax.process_count()
    mine = data_lib.Batcher(loaded.train, loaded.test, n, config.seed, loaded.scale, config.data.binarize, p, count)
    whole = data_lib.Batcher(loaded.train, loaded.test, n, config.seed, loaded.scale, config.data.binarize)
    par = parallel.make("jit", -1)
    assert len(par.devices) == 2 * count, par.devices
    for step in (0, 7):
        local, full = mine.train_batch(step), whole.train_batch(step)
        rows = slice(p * n // count, (p + 1) * n // count)
        for k in full:
            assert len(local[k]) == n // count, (k, local[k].shape)
            np.testing.assert_array_equal(local[k], full[k][rows])
            gathered = multihost_utils.process_allgather(par.put_batch(local)[k], tiled=True)
            np.testing.assert_array_equal(gathered, full[k])
    print(f"process {p}: batch slices ok", flush=True)


def main(argv: list[str]) -> None:
    process_id, num_processes, port, workdir, term_at, *settings = argv
    from jaxgen.run import distributed

    distributed.initialize(f"localhost:{port}", int(num_processes), int(process_id))
    from experiments import overrides
    from experiments.configs import vae
    from jaxgen.run import train_and_evaluate
    from jaxgen.train.preemption import EXIT_CODE, Preempted
    from jaxgen.train.stepped import Hook

    config = overrides.apply(vae.get_config("smoke"),
                             {k: overrides.parse_value(v) for k, v in (s.split("=", 1) for s in settings)})
    check_batches(config)

    def preempt(writer, done, params, final):
        if done == int(term_at) and not final:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1.0)  # the notice reaches the other process before many more steps pass
        return {}

    hooks = (Hook(int(term_at), preempt),) if int(term_at) > 0 else ()
    try:
        train_and_evaluate(config, workdir, hooks=hooks)
    except Preempted as stop:
        print(stop, flush=True)
        sys.exit(EXIT_CODE)


if __name__ == "__main__":
    main(sys.argv[1:])
