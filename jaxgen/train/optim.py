"""Optimizers and learning-rate schedules from `config.optim`."""

import optax

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "linear")


def make_schedule(optim_config, num_steps: int) -> optax.Schedule:
    return schedule(optim_config.schedule, optim_config.lr, num_steps, optim_config.warmup_steps)


def schedule(name: str, lr: float, num_steps: int, warmup: int = 0) -> optax.Schedule:
    """The learning rate over `num_steps` updates: constant, or decayed to 0 (cosine, linear),
    after `warmup` updates rising linearly from 0; warmup_cosine is optax's own."""
    if name == "constant":
        base = optax.constant_schedule(lr)
    elif name == "cosine":
        base = optax.cosine_decay_schedule(lr, max(num_steps - warmup, 1))
    elif name == "linear":
        base = optax.linear_schedule(lr, 0.0, max(num_steps - warmup, 1))
    elif name == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(num_steps, warmup + 1))
    else:
        raise ValueError(f"learning-rate schedule {name!r} is unknown; expected one of {SCHEDULES}")
    if warmup > 0:
        return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), base], [warmup])
    return base


def make_optimizer(optim_config, num_steps: int) -> optax.GradientTransformation:
    """Gradient clipping (if grad_clip_norm > 0) followed by the named optimizer."""
    lr = make_schedule(optim_config, num_steps)
    name = optim_config.name
    if name == "adam":
        opt = optax.adam(lr, b1=optim_config.b1, b2=optim_config.b2, eps=optim_config.eps)
    elif name == "adamw":
        opt = optax.adamw(lr, b1=optim_config.b1, b2=optim_config.b2, eps=optim_config.eps,
                          weight_decay=optim_config.weight_decay)
    elif name == "sgd":
        opt = optax.sgd(lr, momentum=optim_config.b1 or None)
    elif name == "rmsprop":
        opt = optax.rmsprop(lr, decay=optim_config.b2, eps=optim_config.eps)
    else:
        raise ValueError(f"config.optim.name={name!r} is unknown; expected one of {OPTIMIZERS}")
    if optim_config.grad_clip_norm > 0:
        return optax.chain(optax.clip_by_global_norm(optim_config.grad_clip_norm), opt)
    return opt
