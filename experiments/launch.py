"""Launch one experiment from a config file.

  python -m experiments.launch --config experiments/configs/vae.py:mnist --workdir runs/vae \
      --config.optim.lr=3e-4

Every family goes through the run shell (jaxgen/run/). Restarting with the same --workdir
resumes from its latest checkpoint (a finished one-call fit is not redone). On a
multi-host TPU / GPU cluster pass --distributed on every host.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import overrides

_CONFIG = config_flags.DEFINE_config_file("config", None, "path/to/config.py[:variant]", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and samples.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (multi-host).")
# The text of jaxgen.run.compile_cache.HELP (not imported here: flags are defined before jaxgen loads).
_CACHE = flags.DEFINE_string("compilation_cache", None, "Persistent XLA compilation cache directory, or 'off' "
                             "(default: $JAXGEN_COMPILATION_CACHE, else $JAX_COMPILATION_CACHE_DIR, else "
                             "~/.cache/jaxgen/xla).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
    import jax

    from jaxgen.run import USER_ERRORS, compile_cache, train_and_evaluate

    if _DISTRIBUTED.value:
        jax.distributed.initialize()
    compile_cache.enable(_CACHE.value)
    try:
        train_and_evaluate(_CONFIG.value, _WORKDIR.value)
    except USER_ERRORS as err:  # a bad config value or data file: one line naming it, no traceback
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    app.run(main, flags_parser=overrides.parse_flags_or_exit)
