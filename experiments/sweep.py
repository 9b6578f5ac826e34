"""Run a list or product of config overrides, each in its own workdir, and
write one table of final metrics (sweep_results.csv and .md).

  python -m experiments.sweep --config experiments/configs/vae.py:digits --workdir runs/sweep \
      --sweep experiments/sweeps/vae_digits.py
  python -m experiments.sweep --config experiments/configs/vae.py:digits --workdir runs/sweep \
      --set optim.lr=1e-3,3e-4 --set model.latent_dim=4,8        # product: 4 runs
  ... --executor local --parallel 2          # 2 points at a time, each its own process and cores
  ... --executor slurm --parallel 8 --slurm_partition gpu --slurm_gpus_per_task 1 --slurm_time 240
  python -m experiments.sweep --workdir runs/sweep --collect      # rebuild the table now

A sweep file defines get_sweep() -> list of {key: value} dicts. Every run's config is checked
before the first one starts. Rerunning skips finished points and resumes the others.
Executors: jaxgen/run/sweep.py.
"""

import importlib.util
import itertools
import shutil
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import overrides as overrides_lib

_CONFIG = config_flags.DEFINE_config_file("config", None, "path/to/config.py[:variant]", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Parent directory of the runs and the results table.")
_SWEEP = flags.DEFINE_string("sweep", None, "Python file with get_sweep() -> list[dict].")
# The text of jaxgen.run.compile_cache.HELP (not imported here: flags are defined before jaxgen loads).
_CACHE = flags.DEFINE_string("compilation_cache", None, "Persistent XLA compilation cache directory, or 'off' "
                             "(default: $JAXGEN_COMPILATION_CACHE, else $JAX_COMPILATION_CACHE_DIR, else "
                             "~/.cache/jaxgen/xla).")
_SET = flags.DEFINE_multi_string("set", [], "key=v1,v2,...; several --set flags form a product.")
_EXECUTOR = flags.DEFINE_enum("executor", "inline", ["inline", "local", "slurm"],
                              "inline: this process, one point after another; local: a process per point "
                              "(submitit), --parallel at once; slurm: one SLURM array job (submitit).")
_PARALLEL = flags.DEFINE_integer("parallel", 1, "Points running at once (local, slurm).")
_COLLECT = flags.DEFINE_bool("collect", False, "Only rebuild the results table from the finished points.")
_WAIT = flags.DEFINE_bool("wait", True, "slurm / local: follow the jobs, writing the table as points finish "
                          "(--nowait: submit and return; --collect later).")
_PARTITION = flags.DEFINE_string("slurm_partition", None, "SLURM partition.")
_TIME = flags.DEFINE_integer("slurm_time", 60, "SLURM time limit per task, minutes.")
_GPUS = flags.DEFINE_integer("slurm_gpus_per_task", 0, "GPUs per task.")
_CPUS = flags.DEFINE_integer("slurm_cpus_per_task", None, "CPUs per task.")
_MEM = flags.DEFINE_float("slurm_mem_gb", None, "Memory per task, GB.")
_ACCOUNT = flags.DEFINE_string("slurm_account", None, "SLURM account.")
_QOS = flags.DEFINE_string("slurm_qos", None, "SLURM quality of service.")
_CONSTRAINT = flags.DEFINE_string("slurm_constraint", None, "SLURM node constraint.")
_SIGNAL_DELAY = flags.DEFINE_integer("slurm_signal_delay_s", 120, "Seconds between the time-limit warning "
                                     "(SIGUSR2: checkpoint and requeue) and the kill.")
_EXTRA = flags.DEFINE_multi_string("slurm_option", [], "More sbatch options, key=value (e.g. exclude=node7).")

def product(spec: list[str]) -> list[dict]:
    """['optim.lr=1e-3,3e-4', 'model.latent_dim=4,8'] -> the 4 combinations."""
    axes = []
    for item in spec:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key=v1,v2,...")
        key, values = item.split("=", 1)
        axes.append([(key, overrides_lib.parse_value(v)) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] if axes else []


def load_sweep_file(path: str) -> list[dict]:
    spec = importlib.util.spec_from_file_location("jaxgen_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.get_sweep())


def checked_configs(base_config, runs: list[dict]) -> list:
    """Every run's config, checked before any of them starts (KeyError / TypeError / ValueError /
    ConfigError name the bad key or value)."""
    from jaxgen.run import ConfigError, check

    if not runs:
        raise ValueError("the sweep is empty: give --sweep FILE or --set key=v1,v2")
    configs = [overrides_lib.apply(base_config, o) for o in runs]
    for o, c in zip(runs, configs):
        try:
            check(c)
        except ConfigError as err:
            raise ConfigError(f"sweep run {o}: {err}") from err
    return configs


def slurm_resources():
    from jaxgen.run.sweep import Slurm

    extra = []
    for item in _EXTRA.value:
        if "=" not in item:
            raise ValueError(f"--slurm_option {item!r}: expected key=value")
        extra.append(tuple(item.split("=", 1)))
    return Slurm(_PARTITION.value, _TIME.value, _GPUS.value, _CPUS.value, _MEM.value, _ACCOUNT.value, _QOS.value,
                 _CONSTRAINT.value, _SIGNAL_DELAY.value, tuple(extra))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)
    from jaxgen.run import USER_ERRORS, compile_cache
    from jaxgen.run import sweep as sweep_lib

    if _COLLECT.value:
        try:
            rows, pending = sweep_lib.collect(_WORKDIR.value)
        except FileNotFoundError as err:
            sys.exit(f"error: {err}")
        print(f"{len(rows)} points finished, {pending} not; table: {_WORKDIR.value}/{sweep_lib.TABLE}.md")
        return
    if _CONFIG.value is None:
        sys.exit("error: --config is required (except with --collect)")
    compile_cache.enable(_CACHE.value)
    try:  # a bad sweep file, key, value or flag: one line naming it, before any run starts
        runs = load_sweep_file(_SWEEP.value) if _SWEEP.value else []
        runs += product(_SET.value)
        configs = checked_configs(_CONFIG.value, runs)
        resources = slurm_resources()
        sweep_lib.check_executor(_EXECUTOR.value, _PARALLEL.value)
        if _EXECUTOR.value == "slurm" and not (shutil.which("sbatch") and shutil.which("srun")):
            raise ValueError("--executor=slurm: sbatch / srun not found on PATH (run the sweep on a SLURM login node)")
    except (*USER_ERRORS, KeyError, TypeError, ValueError) as err:
        sys.exit(f"error: {' '.join(str(err).split())}")
    try:
        sweep_lib.run(runs, configs, _WORKDIR.value, _EXECUTOR.value, _PARALLEL.value, resources, _WAIT.value)
    except USER_ERRORS as err:  # e.g. a data file that fails its checksum
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    app.run(main, flags_parser=overrides_lib.parse_flags_or_exit)
