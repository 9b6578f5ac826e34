"""Sequence networks: causality by the Jacobian of outputs on input embeddings, the bidirectional
encoder seeing both sides, cached decoding equal to the full forward pass, rotary positions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from jaxgen.nn.attention import rotary
from jaxgen.nn.rnn import RNNLM
from jaxgen.nn.transformer import EncoderDecoder, TransformerEncoder, TransformerLM

V, T = 7, 6
TOKENS = jnp.array([[1, 4, 2, 6, 0, 3], [5, 5, 1, 2, 4, 6]], jnp.int32)


def nets():
    return {
        "transformer_learned": TransformerLM(V, width=16, depth=2, heads=2, max_len=T),
        "transformer_rotary": TransformerLM(V, width=16, depth=2, heads=2, max_len=T, positions="rotary",
                                            tie_embeddings=False),
        "lstm": RNNLM(V, "lstm", hidden=12, layers=2),
        "gru": RNNLM(V, "gru", hidden=12, layers=1),
    }


def embedding_jacobian(net, params, tokens) -> np.ndarray:
    """d logits[b, t, :] / d (token embedding)[b, s, :], summed over the vocabulary and width:
    [T (output), T (input)] for the first sequence, through an interceptor that adds a
    perturbation to every nn.Embed lookup."""

    def logits_of(delta):
        def add(next_fun, args, kwargs, context):
            out = next_fun(*args, **kwargs)
            if isinstance(context.module, nn.Embed) and context.method_name == "__call__":
                return out + delta
            return out

        with nn.intercept_methods(add):
            out = net.apply(params, tokens)
        return out[0] if isinstance(out, tuple) else out

    emb = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params) if "embedding" in jax.tree_util.keystr(path)]
    delta0 = jnp.zeros((*tokens.shape, emb[0].shape[-1]))
    jac = jax.jacrev(logits_of)(delta0)  # [B, T, V, B, T, W]
    return np.abs(np.asarray(jac[0, :, :, 0])).sum(axis=(1, 3))  # [T out, T in]


@pytest.mark.parametrize("name", ["transformer_learned", "transformer_rotary", "lstm", "gru"])
def test_causal_models_never_look_ahead(name):
    net = nets()[name]
    params = net.init(jax.random.key(0), TOKENS)
    jac = embedding_jacobian(net, params, TOKENS)
    future = np.triu(jac, 1)  # output t, input s > t
    assert np.all(future == 0.0), f"{name}: output depends on later inputs\n{jac}"
    assert np.all(np.diag(jac) > 0) and np.all(np.tril(jac, -1)[1:, 0] > 0), f"{name}: no path from the past\n{jac}"


def test_masked_lm_encoder_sees_both_sides():
    net = TransformerEncoder(V, width=16, depth=1, heads=2, max_len=T)
    params = net.init(jax.random.key(0), TOKENS)
    jac = embedding_jacobian(net, params, TOKENS)
    assert np.all(jac > 0), f"every output should depend on every input\n{jac}"
    valid = jnp.array([[True] * 4 + [False] * 2] * 2)
    a = net.apply(params, TOKENS, valid)[0]
    b = net.apply(params, TOKENS.at[:, 4:].set(0), valid)[0]
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-6)  # padding is never attended to


@pytest.mark.parametrize("name", ["transformer_learned", "transformer_rotary", "lstm", "gru"])
def test_cached_decoding_equals_the_full_forward_pass(name):
    net = nets()[name]
    params = net.init(jax.random.key(1), TOKENS)
    full = net.apply(params, TOKENS)[0]
    # a prompt of 2 in one call, then one token at a time
    state = net.init_state(TOKENS.shape[0])
    out, state = net.apply(params, TOKENS[:, :2], jnp.arange(2), state)
    steps = [out]
    for t in range(2, T):
        out, state = net.apply(params, TOKENS[:, t:t + 1], jnp.array([t]), state)
        steps.append(out)
    np.testing.assert_allclose(jnp.concatenate(steps, 1), full, atol=2e-5, rtol=1e-5)


def test_encoder_decoder_decoder_is_causal_and_caches():
    net = EncoderDecoder(V, width=16, depth=1, heads=2, max_len=T)
    source = TOKENS[:, ::-1]
    params = net.init(jax.random.key(2), source, TOKENS)
    full = net.apply(params, source, TOKENS)
    changed = net.apply(params, source, TOKENS.at[:, 4:].set(0))
    np.testing.assert_allclose(full[:, :4], changed[:, :4], atol=1e-6)
    memory = net.apply(params, source, method=EncoderDecoder.encode)
    state = net.init_state(TOKENS.shape[0])
    steps = []
    for t in range(T):
        out, state = net.apply(params, memory, None, TOKENS[:, t:t + 1], jnp.array([t]), state,
                               method=EncoderDecoder.decode)
        steps.append(out)
    np.testing.assert_allclose(jnp.concatenate(steps, 1), full, atol=2e-5, rtol=1e-5)


def test_rotary_scores_depend_only_on_relative_position():
    """<R(m) q, R(n) k> = <R(m + s) q, R(n + s) k>: rotary attention scores are shift-invariant."""
    kq, kk = jax.random.split(jax.random.key(3))
    q, k = jax.random.normal(kq, (1, 1, 1, 8)), jax.random.normal(kk, (1, 1, 1, 8))
    score = lambda m, n: float(jnp.sum(rotary(q, jnp.array([m])) * rotary(k, jnp.array([n]))))
    assert score(5, 2) == pytest.approx(score(12, 9), rel=1e-5)
    assert score(5, 2) != pytest.approx(score(5, 3), rel=1e-3)
    np.testing.assert_allclose(rotary(q, jnp.array([0])), q)  # position 0 is the identity
