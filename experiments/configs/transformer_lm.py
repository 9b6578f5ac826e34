"""Decoder-only transformer language models (family `language_model`, arch 'transformer').

Variants (`transformer_lm.py:NAME`):
  shakespeare_char  Tiny Shakespeare characters, context 128, 4 pre-LN blocks of width 192,
                    learned positions, tied embeddings; 4,000 steps (~44 min of the 2-core CPU).
  shakespeare_bpe   the same text as a 512-token byte-level BPE (results per character).
  markov            the order-2 Markov text whose entropy rate is known (a quick check).
  smoke             a few steps of a tiny model on the Markov text, for tests.

Run:
  python -m experiments.launch --config experiments/configs/transformer_lm.py:shakespeare_char \\
      --workdir runs/transformer_shakespeare
"""

import ml_collections

from experiments.configs.base import get_base_config, lock, text, text_smoke


def language_model(arch: str, **overrides) -> ml_collections.ConfigDict:
    """The keys of a language model: its network (the transformer's or the RNN's) and the
    decoding of its samples."""
    if arch == "transformer":
        net = {"width": 192, "depth": 4, "heads": 4, "mlp_ratio": 4,
               "positions": "learned",  # or 'rotary'
               "tie_embeddings": True}
    else:  # 'lstm' or 'gru'
        net = {"hidden": 256, "layers": 2}
    m = ml_collections.ConfigDict({
        "arch": arch, **net,
        "dropout": 0.1,
        # samples (eval.num_samples of them) and figures/decoding.md
        "sample_length": 128, "temperature": 1.0, "top_k": 0, "top_p": 1.0,
        "prompt_length": 32, "num_prompts": 3,
    })
    m.update(overrides)
    return m


def text_run(c: ml_collections.ConfigDict, steps: int, batch_size: int, lr: float) -> None:
    """Training length and optimizer of the text runs: Adam with a cosine schedule from lr,
    evaluation on the whole validation split every 1,000 steps (a few seconds: one pass)."""
    c.data.batch_size = batch_size
    c.data.eval_batch_size = 100
    c.train.num_steps = steps
    c.train.log_every = 100
    c.optim.lr = lr
    c.optim.schedule = "cosine"
    c.optim.warmup_steps = 100
    c.optim.grad_clip_norm = 1.0
    c.eval.every_steps = 1_000
    c.eval.num_examples = 0
    c.eval.num_samples = 4
    c.checkpoint.every_steps = 1_000


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "shakespeare_char"
    c = get_base_config()
    c.family = "language_model"
    if arg in ("shakespeare_char", "shakespeare_bpe"):
        bpe = arg == "shakespeare_bpe"
        text(c, "tiny_shakespeare", 64 if bpe else 128, "bpe" if bpe else "char", 512)
        # ~44 min of the 2-core dev CPU each: 1.5 steps/s (characters, context 128) and 3.4 steps/s
        # (BPE, context 64 tokens, ~120 characters), measured alone
        text_run(c, 9_000 if bpe else 4_000, 32, 1e-3)
        c.model = language_model("transformer", sample_length=64 if bpe else 128, prompt_length=16 if bpe else 32)
    elif arg == "markov":
        text(c, "markov_text", 64)
        c.data.toy_train_size, c.data.toy_test_size = 200_000, 20_000
        text_run(c, 1_500, 32, 2e-3)
        c.model = language_model("transformer", width=64, depth=2, heads=2, dropout=0.0, sample_length=64,
                                 prompt_length=16)
    elif arg == "smoke":
        text_smoke(c, "markov_text", 16)
        c.eval.num_samples = 2
        c.model = language_model("transformer", width=16, depth=1, heads=2, dropout=0.0, sample_length=16,
                                 prompt_length=4, num_prompts=2)
    else:
        raise ValueError(f"unknown transformer_lm config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("shakespeare_char", "shakespeare_bpe", "markov", "smoke")
