"""Autoregressive language models bound to their objective: windows of block_size + 1 token ids
(jaxgen/data/text.py) are read as inputs x[:, :-1] and targets x[:, 1:]; the loss is the mean
cross-entropy per target token, the test log-likelihood the exact log p of each window's
targets given its inputs, with the characters they stand for (nats per character)."""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from jaxgen import rng as rng_lib
from jaxgen.losses.sequence import sequence_log_prob
from jaxgen.sampling import decoding


@dataclasses.dataclass(frozen=True)
class LanguageModel:
    net: nn.Module  # TransformerLM or RNNLM: (tokens, positions, state, train) -> (logits, state)
    vocab_size: int
    token_chars: np.ndarray | None = None  # [V + 1] characters per id (the padding id last, 0)

    def split(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(inputs [B, T], targets [B, T], mask [B, T]: 0 on the padding id vocab_size)."""
        inputs, targets = x[:, :-1], x[:, 1:]
        return jnp.minimum(inputs, self.vocab_size - 1), targets, (targets < self.vocab_size).astype(jnp.float32)

    def logits(self, params, tokens, train: bool = False, key=None):
        rngs = {"dropout": rng_lib.stream(key, "dropout")} if train else None
        return self.net.apply(params, tokens, train=train, rngs=rngs)[0]

    def step_fn(self, params) -> decoding.Step:
        """The decoders' view: (tokens, positions, state) -> (logits, state), evaluation mode."""
        return lambda tokens, positions, state: self.net.apply(params, tokens, positions, state)

    def init_state(self, batch: int):
        return self.net.init_state(batch)


def make_loss_fn(model: LanguageModel) -> Callable:
    """(params, batch, key) -> (mean nats per target token, metrics)."""

    def loss_fn(params, batch, key):
        inputs, targets, mask = model.split(batch["x"])
        logits = model.logits(params, inputs, train=True, key=key)
        nats = -sequence_log_prob(logits, targets, mask)  # [B]
        tokens = mask.sum()
        loss = nats.sum() / tokens
        metrics = {"loss": loss, "nats_per_token": loss}
        if model.token_chars is not None:
            chars = jnp.asarray(model.token_chars)[targets].sum()
            metrics["nats_per_char"] = nats.sum() / chars
        return loss, metrics

    return loss_fn


def make_log_prob(model: LanguageModel) -> Callable:
    """(params, batch, key, stats) -> {'log_prob': [B] log p(targets | inputs) in nats, 'units':
    [B] characters of the targets}: the likelihood protocol's per-window values."""
    if model.token_chars is None:
        raise ValueError("the test log-likelihood per character needs the vocabulary's token_chars")
    chars_table = jnp.asarray(model.token_chars)

    def log_prob(params, batch, key, stats):
        inputs, targets, mask = model.split(batch["x"])
        logits = model.logits(params, inputs)
        return {"log_prob": sequence_log_prob(logits, targets, mask),
                "units": chars_table[targets].sum(-1).astype(jnp.float32),
                "tokens": mask.sum(-1)}

    return log_prob
