"""Decoding: top-k / top-p draw only from the allowed set with renormalised probabilities
(chi-square), beam search of full width equals brute-force enumeration, cached generation equals
recomputation draw for draw."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgen.nn.rnn import RNNLM
from jaxgen.nn.transformer import TransformerLM
from jaxgen.sampling import decoding

LOGITS = jnp.log(jnp.array([0.30, 0.05, 0.25, 0.02, 0.18, 0.20]))


def draws(n: int, **mode) -> np.ndarray:
    keys = jax.random.split(jax.random.key(0), n)
    logits = jnp.broadcast_to(LOGITS, (n, LOGITS.shape[0]))
    return np.asarray(jax.jit(lambda k, lg: jax.vmap(lambda kk, l1: decoding.next_token(kk, l1[None], **mode)[0])(
        k, lg))(keys, logits))


@pytest.mark.parametrize("mode, allowed", [
    ({"top_k": 3}, [0, 2, 5]),
    ({"top_p": 0.7}, [0, 2, 5]),  # 0.30 + 0.25 < 0.7 <= 0.30 + 0.25 + 0.20
    ({"top_p": 0.5}, [0, 2]),
    ({"top_k": 4, "temperature": 0.5}, [0, 2, 4, 5]),
])
def test_filtered_sampling_draws_the_renormalised_allowed_set(mode, allowed):
    n = 40_000
    got = draws(n, **mode)
    assert set(np.unique(got)) <= set(allowed), f"drew {sorted(set(np.unique(got)) - set(allowed))} outside {allowed}"
    p = np.exp(np.asarray(LOGITS, np.float64) / mode.get("temperature", 1.0))[allowed]
    expected = n * p / p.sum()
    observed = np.array([(got == a).sum() for a in allowed])
    assert stats.chisquare(observed, expected).pvalue > 1e-3, (observed, expected)


def test_greedy_is_the_argmax_and_bad_temperature_is_refused():
    assert int(decoding.next_token(jax.random.key(0), LOGITS[None], greedy=True)[0]) == 0
    with pytest.raises(ValueError, match="temperature=0"):
        decoding.filter_logits(LOGITS, temperature=0.0)


def tiny_lm(kind: str, vocab: int, max_len: int):
    net = (TransformerLM(vocab, width=8, depth=1, heads=2, max_len=max_len) if kind == "transformer"
           else RNNLM(vocab, "gru", hidden=8, layers=1))
    params = net.init(jax.random.key(4), jnp.zeros((1, max_len), jnp.int32))
    # sharpen the random model so sequence probabilities differ clearly
    params = jax.tree.map(lambda x: 3.0 * x, params)
    step = lambda tokens, positions, state: net.apply(params, tokens, positions, state)
    return net, params, step


@pytest.mark.parametrize("kind", ["transformer", "gru"])
def test_beam_search_of_full_width_is_exact_enumeration(kind):
    vocab, new = 3, 3
    prompt = jnp.array([[1, 2], [0, 0]], jnp.int32)
    net, params, step = tiny_lm(kind, vocab, prompt.shape[1] + new)
    width = vocab**new
    seqs, scores = decoding.beam_search(step, net.init_state(2), prompt, new, width)
    for b in range(2):
        brute = {}
        for cont in itertools.product(range(vocab), repeat=new):
            full = jnp.concatenate([prompt[b], jnp.array(cont, jnp.int32)])[None]
            logp = jax.nn.log_softmax(net.apply(params, full[:, :-1])[0][0], -1)
            brute[cont] = float(sum(logp[prompt.shape[1] - 1 + i, c] for i, c in enumerate(cont)))
        ranked = sorted(brute.items(), key=lambda kv: -kv[1])
        got = [tuple(np.asarray(seqs[b, i, prompt.shape[1]:]).tolist()) for i in range(width)]
        assert got == [c for c, _ in ranked]
        np.testing.assert_allclose(np.asarray(scores[b]), [s for _, s in ranked], atol=1e-4)
        assert np.all(np.asarray(seqs[b, :, :prompt.shape[1]]) == np.asarray(prompt[b]))


@pytest.mark.parametrize("kind", ["transformer", "gru"])
def test_cached_generation_draws_what_recomputation_draws(kind):
    prompt = jnp.array([[3, 1, 4], [1, 5, 9]], jnp.int32)
    new = 7
    net, params, step = tiny_lm(kind, 11, prompt.shape[1] + new)
    forward = lambda buf: net.apply(params, buf)[0]
    key = jax.random.key(5)
    for mode in ({}, {"top_k": 3}, {"top_p": 0.8, "temperature": 0.7}, {"greedy": True}):
        cached = decoding.generate(step, net.init_state(2), prompt, new, key, **mode)
        uncached = decoding.generate_uncached(forward, prompt, new, key, **mode)
        np.testing.assert_array_equal(cached, uncached)
        np.testing.assert_array_equal(cached[:, :3], prompt)
