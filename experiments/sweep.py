"""Run a list or product of config overrides, each in its own workdir, and
write one table of final metrics (sweep_results.csv and .md).

  python -m experiments.sweep --config experiments/configs/vae.py:digits --workdir runs/sweep \
      --sweep experiments/sweeps/vae_digits.py
  python -m experiments.sweep --config experiments/configs/vae.py:digits --workdir runs/sweep \
      --set optim.lr=1e-3,3e-4 --set model.latent_dim=4,8        # product: 4 runs

A sweep file defines get_sweep() -> list of {key: value} dicts. Every run's
config is checked before the first one starts. Rerunning resumes each run.
"""

import csv
import importlib.util
import itertools
import json
import os
import re
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
flags.mark_flags_as_required(["config", "workdir"])


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


def run_name(index: int, overrides: dict) -> str:
    text = ",".join(f"{k}={v}" for k, v in overrides.items())
    return f"{index:03d}_" + re.sub(r"[^A-Za-z0-9_.=,-]+", "", text.replace(" ", ""))[:100]


def write_table(path_stem: str, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path_stem + ".csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    with open(path_stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


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


def run_sweep(base_config, workdir: str, runs: list[dict]) -> list[dict]:
    """Check every run's config, then train each; returns the table rows."""
    from jaxgen.run import train_and_evaluate

    configs = checked_configs(base_config, runs)
    rows = []
    for i, (o, c) in enumerate(zip(runs, configs)):
        run_dir = os.path.join(workdir, run_name(i, o))
        print(f"[{i + 1}/{len(runs)}] {o} -> {run_dir}")
        metrics = train_and_evaluate(c, run_dir)
        rows.append({"run": os.path.basename(run_dir), **o, **metrics})
        write_table(os.path.join(workdir, "sweep_results"), rows)
    with open(os.path.join(workdir, "sweep.json"), "w") as f:
        json.dump(runs, f, indent=2, default=str)
    print(f"Results: {os.path.join(workdir, 'sweep_results.md')} (and .csv)")
    return rows


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)
    from jaxgen.run import USER_ERRORS, compile_cache

    compile_cache.enable(_CACHE.value)

    try:  # a bad sweep file, key or value: one line naming it, before any run starts
        runs = load_sweep_file(_SWEEP.value) if _SWEEP.value else []
        runs += product(_SET.value)
        checked_configs(_CONFIG.value, runs)
    except (*USER_ERRORS, KeyError, TypeError, ValueError) as err:
        sys.exit(f"error: {' '.join(str(err).split())}")
    try:
        run_sweep(_CONFIG.value, _WORKDIR.value, runs)
    except USER_ERRORS as err:  # e.g. a data file that fails its checksum
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    app.run(main, flags_parser=overrides_lib.parse_flags_or_exit)
