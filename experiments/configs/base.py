"""Shared base configs: one per engine, holding only what that engine reads.

Stepped families (trained by minibatch updates) call `get_base_config()`: data / model /
train / optim / eval / evals / checkpoint. One-call families (closed forms, EM) call
`get_fit_base_config()`: data / model / eval / train.progress, no optimizer or checkpoint
schedule they would ignore. Family configs set `family` and `model`, override fields, add the
keys only they read, and return `lock(config)`: a locked ConfigDict refuses unknown keys and
wrong types, so a mistyped or ignored `--config.x=...` fails instead of changing nothing.
"""

import ml_collections

from jaxgen.eval.options import default_options as default_eval_options


def _data_section() -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "digits"  # see jaxgen/data/sources.py
    d.dir = ""  # idx files for mnist / fashion_mnist; default $JAXGEN_DATA_DIR
    d.tfds_dir = ""  # where TFDS keeps prepared datasets; default $TFDS_DATA_DIR or ~/tensorflow_datasets
    d.download = True  # download the idx files when they are not found locally
    d.binarize = False  # binary data: training images drawn x ~ Bernoulli(pixel); the test split is fixed
    d.toy_seed = 0
    d.toy_train_size = 50_000
    d.toy_test_size = 10_000
    return d


def get_fit_base_config() -> ml_collections.ConfigDict:
    """What the one-call engine reads (jaxgen/train/one_call.py)."""
    c = ml_collections.ConfigDict()
    c.family = ""
    c.seed = 0
    c.data = _data_section()
    c.model = ml_collections.ConfigDict()
    c.train = ml_collections.ConfigDict({"progress": True})
    c.eval = ml_collections.ConfigDict({"num_samples": 64})  # images in the PNG sample grid
    return c


def get_base_config() -> ml_collections.ConfigDict:
    """What the stepped engine reads (jaxgen/train/stepped.py)."""
    c = ml_collections.ConfigDict()
    c.family = ""
    c.seed = 0

    c.data = _data_section()
    c.data.batch_size = 128  # global, over all devices
    c.data.eval_batch_size = 500
    c.data.prefetch = -1  # batches made ahead on a background thread; -1: 2 on GPU/TPU, 0 (none) on CPU

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


def digits(c: ml_collections.ConfigDict, steps: int, binarize: bool, batch_size: int = 100) -> None:
    """scikit-learn's 8x8 digits (binarised: the binarised digits leaderboard; else their 17 grey
    levels): the 297 test digits in one batch, evaluation and a checkpoint every 1,000 steps."""
    c.data.name = "digits"
    c.data.binarize = binarize
    c.data.batch_size = batch_size
    c.data.eval_batch_size = 297
    c.train.num_steps = steps
    c.eval.every_steps = 1_000
    c.checkpoint.every_steps = 1_000


def mnist(c: ml_collections.ConfigDict, steps: int, binarize: bool) -> None:
    """MNIST for the pixel-level models (autoregressive, flows): batches of 64, the cosine
    schedule from lr 1e-3 over `steps`, a checkpoint every 500 steps."""
    c.data.name = "mnist"
    c.data.binarize = binarize
    c.data.batch_size = 64
    c.data.eval_batch_size = 500
    c.train.num_steps = steps
    c.train.log_every = 100
    c.optim.lr = 1e-3
    c.optim.schedule = "cosine"
    c.checkpoint.every_steps = 500


def text(c: ml_collections.ConfigDict, name: str, block_size: int, tokenizer: str = "char",
         vocab_size: int = 512) -> None:
    """Text (jaxgen/data/text.py): windows of block_size + 1 tokens of `name` ('tiny_shakespeare',
    or 'markov_text' whose toy_* keys count characters) as characters or a byte-level BPE of
    vocab_size tokens trained on the training split."""
    c.data.name = name
    c.data.tokenizer = tokenizer
    c.data.vocab_size = vocab_size
    c.data.block_size = block_size


def text_smoke(c: ml_collections.ConfigDict, name: str, block_size: int, train_chars: int = 2_000) -> None:
    """The text smoke runs: shrink_for_smoke on the generated text `name` ('markov_text' or
    'markov_restore': no data folder needed), characters, train_chars training and 500 test
    characters, the whole test split evaluated."""
    shrink_for_smoke(c, name, 16)
    text(c, name, block_size)
    c.data.toy_train_size, c.data.toy_test_size = train_chars, 500
    c.eval.num_examples = 0


def lock(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    config.lock()
    return config
