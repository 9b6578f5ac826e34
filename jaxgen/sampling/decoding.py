"""Decoding autoregressive token models: greedy, temperature, top-k, top-p (nucleus) sampling and
beam search, each one compiled loop over a fixed-size state.

A model is seen through `step(tokens [B, T], positions [T], state) -> (logits [B, T, V], state)`:
the transformer's state is its KV caches, an RNN's its carries (jaxgen.nn.transformer /
jaxgen.nn.rnn). The prompt is consumed in one call (prefill), then one token per step in a
`lax.scan`. `generate_uncached` is the recomputing baseline: the whole prefix is run again for
every new token (what a model without a cache costs), with the same samples for the same key.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import Array

NEG_INF = -1e30
Step = Callable[[Array, Array, object], tuple[Array, object]]


def filter_logits(logits: Array, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> Array:
    """logits [..., V] / temperature with the tokens outside the top k (k > 0) and outside the
    smallest set whose probability reaches top_p (top_p < 1; Holtzman et al. 2020) set to -inf;
    sampling from the result draws from the renormalised allowed set."""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: must be > 0 (greedy decoding is its own mode)")
    logits = logits / temperature
    if top_k > 0:
        kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
        logits = jnp.where(logits < kth, NEG_INF, logits)
    if top_p < 1.0:
        order = jnp.argsort(-logits, axis=-1)
        sorted_logits = jnp.take_along_axis(logits, order, -1)
        probs = jax.nn.softmax(sorted_logits, -1)
        before = jnp.cumsum(probs, -1) - probs  # mass of the tokens ranked above each
        keep_sorted = before < top_p  # the first token is always kept
        keep = jnp.take_along_axis(keep_sorted, jnp.argsort(order, axis=-1), -1)  # back to vocabulary order
        logits = jnp.where(keep, logits, NEG_INF)
    return logits


def next_token(key: Array, logits: Array, greedy: bool = False, temperature: float = 1.0, top_k: int = 0,
               top_p: float = 1.0) -> Array:
    """[B] ids from logits [B, V]: the argmax, or a draw from the filtered distribution."""
    if greedy:
        return jnp.argmax(logits, -1).astype(jnp.int32)
    return jax.random.categorical(key, filter_logits(logits, temperature, top_k, top_p)).astype(jnp.int32)


def generate(step: Step, state, prompt: Array, num_new: int, key: Array, greedy: bool = False,
             temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> Array:
    """prompt [B, P] followed by num_new tokens: [B, P + num_new]. Token i's key is fold_in(key, i)."""
    p = prompt.shape[1]
    logits, state = step(prompt, jnp.arange(p), state)
    first = next_token(jax.random.fold_in(key, 0), logits[:, -1], greedy, temperature, top_k, top_p)

    def body(carry, i):
        token, state = carry
        logits, state = step(token[:, None], (p + i - 1)[None], state)
        new = next_token(jax.random.fold_in(key, i), logits[:, -1], greedy, temperature, top_k, top_p)
        return (new, state), new

    _, rest = jax.lax.scan(body, (first, state), jnp.arange(1, num_new))
    return jnp.concatenate([prompt, first[:, None], rest.T], 1)


def generate_uncached(forward: Callable[[Array], Array], prompt: Array, num_new: int, key: Array,
                      greedy: bool = False, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> Array:
    """`generate` without a cache: forward(tokens [B, P + num_new]) -> logits runs over the whole
    buffer for every new token (later positions are padding the causal model never looks back at)."""
    b, p = prompt.shape
    buf = jnp.zeros((b, p + num_new), jnp.int32).at[:, :p].set(prompt)

    def body(i, buf):
        logits = jax.lax.dynamic_index_in_dim(forward(buf), p + i - 1, 1, keepdims=False)
        new = next_token(jax.random.fold_in(key, i), logits, greedy, temperature, top_k, top_p)
        return jax.lax.dynamic_update_index_in_dim(buf, new, p + i, 1)

    return jax.lax.fori_loop(0, num_new, body, buf)


def beam_search(step: Step, state, prompt: Array, num_new: int, width: int) -> tuple[Array, Array]:
    """The `width` most probable continuations of each prompt [B, P] of exactly num_new tokens
    (no end token: every beam has the same length, so no length normalisation): (tokens
    [B, width, P + num_new] best first, their log-probabilities [B, width]). Exact when width >=
    V^num_new. Every beam carries its own copy of the state; beams are reordered with it each step."""
    b, p = prompt.shape
    logits, state = step(prompt, jnp.arange(p), state)
    v = logits.shape[-1]
    logp = jax.nn.log_softmax(logits[:, -1].astype(jnp.float32), -1)  # [B, V]
    k0 = min(width, v)
    scores, first = jax.lax.top_k(logp, k0)  # [B, k0]
    if k0 < width:  # fewer candidates than beams: the extra beams start dead
        scores = jnp.concatenate([scores, jnp.full((b, width - k0), NEG_INF)], 1)
        first = jnp.concatenate([first, jnp.zeros((b, width - k0), first.dtype)], 1)
    repeat = lambda x: jnp.repeat(x, width, axis=0)  # [B, ...] -> [B * width, ...], beams of a prompt adjacent
    state = jax.tree.map(repeat, state)
    seqs = jnp.zeros((b, width, num_new), jnp.int32).at[:, :, 0].set(first)

    def body(carry, i):
        seqs, scores, state = carry
        token = seqs[:, :, i - 1].reshape(b * width)
        logits, state = step(token[:, None], (p + i - 1)[None], state)
        logp = jax.nn.log_softmax(logits[:, -1].astype(jnp.float32), -1).reshape(b, width, v)
        cand = (scores[:, :, None] + logp).reshape(b, width * v)
        scores, flat = jax.lax.top_k(cand, width)  # [B, width]
        parent, token = flat // v, flat % v
        seqs = jnp.take_along_axis(seqs, parent[:, :, None], 1).at[:, :, i].set(token)
        rows = (parent + jnp.arange(b)[:, None] * width).reshape(-1)
        state = jax.tree.map(lambda x: x[rows], state)
        return (seqs, scores, state), None

    (seqs, scores, _), _ = jax.lax.scan(body, (seqs, scores, state), jnp.arange(1, num_new))
    full = jnp.concatenate([jnp.broadcast_to(prompt[:, None], (b, width, p)), seqs], -1)
    return full, scores
