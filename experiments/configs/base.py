"""Shared base config: data / model / train / optim / eval / checkpoint.

Family configs call `get_base_config()`, set `family` and `model`, override
fields, and return `lock(config)`: a locked ConfigDict refuses unknown keys
and wrong types, so a mistyped `--config.x=...` fails instead of adding a key.
"""

import ml_collections

from jaxgen.eval.options import default_options as default_eval_options


def get_base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.family = ""
    c.seed = 0

    c.data = ml_collections.ConfigDict()
    c.data.name = "digits"  # see jaxgen/data/sources.py
    c.data.dir = ""  # idx files for mnist / fashion_mnist; default $JAXGEN_DATA_DIR
    c.data.tfds_dir = ""  # where TFDS keeps prepared datasets; default $TFDS_DATA_DIR or ~/tensorflow_datasets
    c.data.download = True  # download the idx files when they are not found locally
    c.data.binarize = False  # dynamic binarisation (x ~ Bernoulli(pixel) at every draw)
    c.data.batch_size = 128  # global, over all devices
    c.data.eval_batch_size = 500
    c.data.toy_seed = 0
    c.data.toy_train_size = 50_000
    c.data.toy_test_size = 10_000

    c.model = ml_collections.ConfigDict()

    c.train = ml_collections.ConfigDict()
    c.train.num_steps = 10_000
    c.train.parallel = "jit"  # 'jit' (1-D data Mesh) or 'pmap'
    c.train.num_devices = -1  # -1: all local devices
    c.train.log_every = 100
    c.train.ema_decay = 0.0  # 0: no EMA params
    c.train.progress = True

    c.optim = ml_collections.ConfigDict()
    c.optim.name = "adam"
    c.optim.lr = 1e-3
    c.optim.schedule = "constant"
    c.optim.warmup_steps = 0
    c.optim.b1 = 0.9
    c.optim.b2 = 0.999
    c.optim.eps = 1e-8
    c.optim.weight_decay = 0.0
    c.optim.grad_clip_norm = 0.0

    c.eval = ml_collections.ConfigDict()
    c.eval.every_steps = 2_000  # 0: only at the end
    c.eval.num_examples = 0  # 0: the whole test split
    c.eval.num_samples = 64  # images in each PNG sample grid
    c.eval.use_ema = True  # evaluate EMA params when train.ema_decay > 0
    c.eval.iwae_samples = 10  # k of the periodic IWAE bound
    c.eval.final_iwae_samples = 100  # k of the final IWAE bound
    c.eval.iwae_chunk = 50  # importance samples per pass (memory)

    # Sample-quality metrics after training (experiments.evaluate's options; off by default).
    c.evals = default_eval_options()

    c.checkpoint = ml_collections.ConfigDict()
    c.checkpoint.every_steps = 1_000  # 0: only at the end
    c.checkpoint.keep = 3
    return c


def add_d_optim(c: ml_collections.ConfigDict) -> None:
    """c.d_optim: the discriminator's own optimizer section, a copy of c.optim as set
    so far (two-player families; override its lr for TTUR)."""
    c.d_optim = ml_collections.ConfigDict(c.optim.to_dict())


def shrink_for_smoke(c: ml_collections.ConfigDict, data_name: str, batch_size: int) -> None:
    """The run-length settings every `smoke` variant shares: 4 steps on small data,
    no periodic evaluation, 100 test examples, a checkpoint every 2 steps.
    Each family still shrinks its own model."""
    c.data.name = data_name
    c.data.batch_size = batch_size
    c.data.eval_batch_size = 100
    c.train.num_steps = 4
    c.train.log_every = 2
    c.train.progress = False
    c.eval.every_steps = 0
    c.eval.num_examples = 100
    c.eval.num_samples = 16
    c.checkpoint.every_steps = 2


def lock(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    config.lock()
    return config
