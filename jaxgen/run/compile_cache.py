"""The persistent XLA compilation cache of jaxgen's commands (launch, sweep, evaluate,
leaderboard): a relaunch, a resume or the next sweep point loads the compiled step instead of
compiling it again (BENCHMARKS.md, "Compilation cache").

Where it lives, first match wins:
  1. the command's --compilation_cache flag (a directory, or 'off');
  2. $JAXGEN_COMPILATION_CACHE (a directory, or 'off');
  3. $JAX_COMPILATION_CACHE_DIR (JAX's own variable);
  4. <user cache dir>/jaxgen/xla ($XDG_CACHE_HOME, else ~/.cache).

Programs are cached whatever their compile time or size (JAX's defaults skip those under 1 s,
most of a launch's many small evaluation programs). Off by default on a CPU host with several
(fake) devices: executables with cross-device collectives loaded from the cache hung in
XLA:CPU's all-reduce rendezvous (tests/train/helpers.py); pass a directory to force it there.
"""

import os

import jax

OFF = ("off", "none", "0", "false")
HELP = ("persistent XLA compilation cache directory, or 'off' "
        "(default: $JAXGEN_COMPILATION_CACHE, else $JAX_COMPILATION_CACHE_DIR, else ~/.cache/jaxgen/xla)")


def resolve(flag: str | None = None) -> str | None:
    """The cache directory the rules above give, or None when it is off."""
    for value in (flag, os.environ.get("JAXGEN_COMPILATION_CACHE"), os.environ.get("JAX_COMPILATION_CACHE_DIR")):
        if value is not None and value != "":
            return None if value.lower() in OFF else os.path.abspath(os.path.expanduser(value))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxgen", "xla")


def enable(flag: str | None = None) -> str | None:
    """Point JAX's persistent compilation cache at `resolve(flag)`; returns the directory used
    (None: off). Call before the first compilation."""
    path = resolve(flag)
    explicit = bool(flag) or bool(os.environ.get("JAXGEN_COMPILATION_CACHE"))
    if path is not None and not explicit and jax.default_backend() == "cpu" and jax.local_device_count() > 1:
        path = None
    if path is None:
        jax.config.update("jax_enable_compilation_cache", False)
        return None
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
