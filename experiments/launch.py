"""Launch one experiment from a config file.

  python -m experiments.launch --config experiments/configs/vae.py:mnist --workdir runs/vae \
      --config.optim.lr=3e-4

Every family goes through the run shell (jaxgen/run/). Restarting with the same --workdir
resumes from its latest checkpoint (a finished one-call fit is not redone).

Several processes or hosts: pass --distributed on every one (jaxgen/run/distributed.py;
README, "Beyond one machine"). A stop signal (SIGTERM, SIGINT, SIGUSR2) writes a checkpoint at
the current step and exits with status 75; relaunching resumes there.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import overrides

_CONFIG = config_flags.DEFINE_config_file("config", None, "path/to/config.py[:variant]", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and samples.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Join a multi-process run (jax.distributed.initialize).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "--distributed: host:port of process 0 "
                                   "(default: detected from the cluster, e.g. SLURM).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "--distributed: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "--distributed: this process's index.")
# The text of jaxgen.run.compile_cache.HELP (not imported here: flags are defined before jaxgen loads).
_CACHE = flags.DEFINE_string("compilation_cache", None, "Persistent XLA compilation cache directory, or 'off' "
                             "(default: $JAXGEN_COMPILATION_CACHE, else $JAX_COMPILATION_CACHE_DIR, else "
                             "~/.cache/jaxgen/xla).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO

    from jaxgen.run import USER_ERRORS, compile_cache, distributed, train_and_evaluate
    from jaxgen.train import preemption

    if _DISTRIBUTED.value:
        try:
            distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
        except ValueError as err:
            sys.exit(f"error: {err}")
    elif any(f.value is not None for f in (_COORDINATOR, _NUM_PROCESSES, _PROCESS_ID)):
        sys.exit("error: --coordinator_address / --num_processes / --process_id need --distributed")
    compile_cache.enable(_CACHE.value)
    try:
        train_and_evaluate(_CONFIG.value, _WORKDIR.value)
    except USER_ERRORS as err:  # a bad config value or data file: one line naming it, no traceback
        sys.exit(f"error: {err}")
    except preemption.Preempted as stop:
        print(stop, flush=True)
        sys.exit(preemption.EXIT_CODE)


if __name__ == "__main__":
    app.run(main, flags_parser=overrides.parse_flags_or_exit)
