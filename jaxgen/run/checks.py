"""Checks of a resolved config, run before anything compiles or writes.

Every message names the offending key and value. Unknown keys and wrong types
are already refused by the locked ConfigDict (see experiments/configs/base.py).
"""

import jax

from jaxgen.data import sources
from jaxgen.eval import options as eval_options
from jaxgen.families import FAMILIES
from jaxgen.train.optim import OPTIMIZERS, SCHEDULES
from jaxgen.train.parallel import PARALLEL


class ConfigError(ValueError):
    """A config value that cannot work."""


def _positive(errors: list[str], key: str, value) -> None:
    if value <= 0:
        errors.append(f"config.{key}={value}: must be positive")


def check(config, num_devices: int | None = None) -> None:
    """Raise ConfigError listing every impossible value in `config`: the data section, the
    stepped engine's sections (train, optim, eval, checkpoint) for a stepped family, the
    evals section where there is one, then the family's own checks."""
    errors: list[str] = []
    if config.family not in FAMILIES:
        errors.append(f"config.family={config.family!r}: unknown; expected one of {sorted(FAMILIES)}")
    data = config.data
    if not sources.is_known(data.name):
        errors.append(f"config.data.name={data.name!r}: unknown dataset; expected one of {sorted(sources.DATASETS)} "
                      "or 'tfds:NAME'")
    if "batch_size" in data:
        _positive(errors, "data.batch_size", data.batch_size)
    if "prefetch" in data and data.prefetch < -1:
        errors.append(f"config.data.prefetch={data.prefetch}: must be >= 0 (batches made ahead), or -1 (automatic)")
    if config.family in FAMILIES and FAMILIES[config.family].engine == "stepped":
        _check_stepped(config, num_devices, errors)
    _positive(errors, "eval.num_samples", config.eval.num_samples)
    if "evals" in config:
        errors.extend(eval_options.errors(config.evals))
    if config.family in FAMILIES:
        FAMILIES[config.family].validate(config, sources.SHAPES.get(data.name), errors)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))


def _check_stepped(config, num_devices: int | None, errors: list[str]) -> None:
    data, train, optim = config.data, config.train, config.optim
    _positive(errors, "data.eval_batch_size", data.eval_batch_size)
    if train.parallel not in PARALLEL:
        errors.append(f"config.train.parallel={train.parallel!r}: expected one of {sorted(PARALLEL)}")
    elif train.parallel != "jit" and jax.process_count() > 1:
        errors.append(f"config.train.parallel={train.parallel!r}: a run over {jax.process_count()} processes uses 'jit'")
    available = jax.local_device_count() if num_devices is None else num_devices
    if train.num_devices > available or train.num_devices == 0 or train.num_devices < -1:
        errors.append(f"config.train.num_devices={train.num_devices}: must be -1 (all) or 1..{available}")
    devices = available if train.num_devices == -1 else train.num_devices
    global_devices = devices * jax.process_count()
    for key in ("batch_size", "eval_batch_size"):
        value = data[key]
        if value > 0 and value % global_devices:
            errors.append(f"config.data.{key}={value}: not divisible by the device count {global_devices}")
    if "num_steps" in train and train.num_steps < 0:  # (a family with phases sets its own length)
        errors.append(f"config.train.num_steps={train.num_steps}: must be >= 0")
    if "num_steps" in train and train.num_steps >= 2**31:  # the checkpointed step counter is int32
        errors.append(f"config.train.num_steps={train.num_steps}: must be < 2**31")
    _positive(errors, "train.log_every", train.log_every)
    if not 0.0 <= train.ema_decay < 1.0:
        errors.append(f"config.train.ema_decay={train.ema_decay}: must be in [0, 1) (0 turns EMA off)")
    if optim.name not in OPTIMIZERS:
        errors.append(f"config.optim.name={optim.name!r}: expected one of {OPTIMIZERS}")
    if optim.schedule not in SCHEDULES:
        errors.append(f"config.optim.schedule={optim.schedule!r}: expected one of {SCHEDULES}")
    _positive(errors, "optim.lr", optim.lr)
    if optim.warmup_steps < 0:
        errors.append(f"config.optim.warmup_steps={optim.warmup_steps}: must be >= 0")
    for section in [k for k in ("optim", "d_optim") if k in config]:
        if config[section].weight_decay > 0 and config[section].name != "adamw":
            errors.append(f"config.{section}.weight_decay={config[section].weight_decay}: only adamw decays weights "
                          f"(config.{section}.name={config[section].name!r}); set name='adamw' or weight_decay=0")
    if optim.grad_clip_norm < 0:
        errors.append(f"config.optim.grad_clip_norm={optim.grad_clip_norm}: must be >= 0 (0 turns clipping off)")
    for key in ("eval.every_steps", "checkpoint.every_steps"):
        section, name = key.split(".")
        if config[section][name] < 0:
            errors.append(f"config.{key}={config[section][name]}: must be >= 0 (0: only at the end)")
    _positive(errors, "checkpoint.keep", config.checkpoint.keep)
