"""Masked language model (BERT's objective, Devlin et al. 2019) over token windows: 15% of the
positions are chosen, of which 80% become the [MASK] id, 10% a random token and 10% stay; the
loss is the cross-entropy of the original tokens at the chosen positions. Its score of a text is
the pseudo-log-likelihood (Salazar et al. 2020): sum_t log p(x_t | x_{-t}), each position masked
in turn. It is not a likelihood (the conditionals need not come from one joint), so it is
reported apart from the protocol's likelihood table, per character.

Ids: 0..V-1 tokens, V the padding id of test windows, V + 1 [MASK] (the network has V + 2)."""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from jaxgen import rng as rng_lib
from jaxgen.losses.sequence import sequence_log_prob


@dataclasses.dataclass(frozen=True)
class MaskedLM:
    net: nn.Module  # TransformerEncoder over vocab_size + 2 ids
    vocab_size: int
    token_chars: np.ndarray  # [V + 1] characters per id (padding 0)
    mask_rate: float = 0.15

    @property
    def mask_id(self) -> int:
        return self.vocab_size + 1

    def corrupt(self, key: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(corrupted x [L], chosen [L] float) for one window x [L]: BERT's 80 / 10 / 10 rule on
        the positions chosen with probability mask_rate (at least one, never padding)."""
        k_pick, k_kind, k_rand, k_one = jax.random.split(key, 4)
        valid = x < self.vocab_size
        chosen = jax.random.bernoulli(k_pick, self.mask_rate, x.shape) & valid
        forced = jax.random.categorical(k_one, jnp.where(valid, 0.0, -jnp.inf))  # one valid position
        chosen = chosen.at[forced].set(True)
        kind = jax.random.uniform(k_kind, x.shape)
        random_tokens = jax.random.randint(k_rand, x.shape, 0, self.vocab_size)
        out = jnp.where(chosen & (kind < 0.8), self.mask_id, x)
        out = jnp.where(chosen & (kind >= 0.8) & (kind < 0.9), random_tokens, out)
        return out, chosen.astype(jnp.float32)


def masked_nats(model: MaskedLM, params, batch: dict, key: jax.Array, train: bool = False
                ) -> tuple[jax.Array, jax.Array]:
    """([B] nats of the original tokens at the chosen positions, [B] chosen positions) of the
    batch's windows corrupted by BERT's rule, each example's draw keyed by its index."""
    x = batch["x"]
    keys = jax.vmap(lambda k: rng_lib.stream(k, "mask"))(rng_lib.example_keys(key, batch["index"]))
    corrupted, chosen = jax.vmap(model.corrupt)(keys, x)
    rngs = {"dropout": rng_lib.stream(key, "dropout")} if train else None
    logits, _ = model.net.apply(params, corrupted, x < model.vocab_size, train=train, rngs=rngs)
    return -sequence_log_prob(logits[..., :model.vocab_size], x, chosen), chosen.sum(-1)


def make_loss_fn(model: MaskedLM) -> Callable:
    """(params, batch, key) -> (mean nats per chosen token, metrics)."""

    def loss_fn(params, batch, key):
        nats, chosen = masked_nats(model, params, batch, key, train=True)
        loss = nats.sum() / chosen.sum()
        return loss, {"loss": loss, "masked_token_nats": loss}

    return loss_fn


def pseudo_log_likelihood(model: MaskedLM, params, x: jax.Array, chunk: int = 16) -> jax.Array:
    """[B] sum over the targets x[:, 1:] (the positions the language models predict, the whole
    window as context) of log p(x_t | x_{-t}), each position masked in turn: L - 1 passes,
    `chunk` positions at a time."""
    length = x.shape[1]
    valid = x < model.vocab_size

    def score(t):
        masked = x.at[:, t].set(model.mask_id)
        logits, _ = model.net.apply(params, masked, valid)
        logp = jax.nn.log_softmax(logits[:, t, :model.vocab_size], -1)
        token = jnp.minimum(x[:, t], model.vocab_size - 1)
        return jnp.where(valid[:, t], jnp.take_along_axis(logp, token[:, None], -1)[:, 0], 0.0)

    return jax.lax.map(score, jnp.arange(1, length), batch_size=chunk).sum(0)
