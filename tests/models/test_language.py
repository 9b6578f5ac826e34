"""Language models through the run shell: smoke runs of the transformer and the LSTM report an
exact test log-likelihood per character of the whole validation text, write decoded samples and
the decoding figure; bad configs are refused before anything runs; the loss is the mean
cross-entropy per token."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import lstm_lm as lstm_config
from experiments.configs import transformer_lm as transformer_config
from jaxgen.models import language as lm
from jaxgen.nn.transformer import TransformerLM
from jaxgen.run import checks


@pytest.mark.parametrize("module", ["transformer_lm", "lstm_lm"])
def test_smoke_runs_report_nats_per_character_and_write_text(smoke_run, module):
    workdir, _, _ = smoke_run(module, "smoke")
    result = json.loads((workdir / "likelihood.json").read_text())
    assert result["unit"] == "character" and result["kind"] == "exact"
    assert result["test"]["units"] == 500  # every character of the validation text, once
    # a few steps from random init: about the uniform rate over the 10 symbols
    assert -result["log_likelihood"] == pytest.approx(math.log(10), abs=0.1)
    assert result["bits_per_dim"] == pytest.approx(-result["log_likelihood"] / math.log(2))
    samples = sorted((workdir / "samples").glob("*.txt"))
    assert samples and "--- sample 1" in samples[-1].read_text()
    figure = (workdir / "figures" / "decoding.md").read_text()
    assert all(mode in figure for mode in ("greedy", "top-k 10", "top-p 0.9"))


def test_language_model_configs_refuse_bad_values():
    c = transformer_config.get_config("smoke")
    c.model.heads, c.model.sample_length, c.model.top_p = 3, 99, 0.0
    c.data.tokenizer = "words"
    with pytest.raises(checks.ConfigError) as err:
        checks.check(c, num_devices=1)
    assert all(s in str(err.value) for s in ("heads=3", "sample_length=99", "top_p=0.0", "tokenizer='words'"))
    c = lstm_config.get_config("smoke")
    c.model.arch = "transformer"
    with pytest.raises(checks.ConfigError, match="needs config.model keys"):
        checks.check(c, num_devices=1)


def test_loss_is_mean_cross_entropy_per_target_and_log_prob_skips_padding():
    v = 5
    net = TransformerLM(v, width=8, depth=1, heads=2, max_len=6)
    model = lm.LanguageModel(net, v, np.array([1, 1, 2, 1, 3, 0]))
    x = jnp.array([[0, 1, 2, 3, 4, 0, 1], [4, 3, 2, 1, v, v, v]], jnp.int32)  # second: padded with id v
    params = net.init(jax.random.key(0), x[:, :-1])
    logits = np.asarray(net.apply(params, jnp.minimum(x[:, :-1], v - 1))[0], np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per = [[logp[b, t, x[b, t + 1]] for t in range(6) if x[b, t + 1] < v] for b in range(2)]
    out = lm.make_log_prob(model)(params, {"x": x}, None, None)
    np.testing.assert_allclose(out["log_prob"], [sum(p) for p in per], rtol=1e-5)
    np.testing.assert_allclose(out["units"], [1 + 2 + 1 + 3 + 1 + 1, 1 + 2 + 1 + 0], rtol=0)
    loss, _ = lm.make_loss_fn(model)(params, {"x": x}, jax.random.key(1))
    assert float(loss) == pytest.approx(-sum(map(sum, per)) / 9, rel=1e-5)


def test_masked_lm_pseudo_log_likelihood_and_bert_corruption():
    from scipy import stats

    from jaxgen.models import masked_lm as mlm
    from jaxgen.nn.transformer import TransformerEncoder

    v = 6
    net = TransformerEncoder(v + 2, width=8, depth=1, heads=2, max_len=5)
    model = mlm.MaskedLM(net, v, np.array([1] * v + [0]))
    x = jnp.array([[0, 1, 2, 3, 4], [5, 4, 3, v, v]], jnp.int32)
    params = net.init(jax.random.key(0), x)
    pll = mlm.pseudo_log_likelihood(model, params, x, chunk=3)
    valid = x < v
    for b in range(2):  # each target position masked by hand, one pass each
        want = 0.0
        for t in range(1, 5):
            if not bool(valid[b, t]):
                continue
            masked = x[b:b + 1].at[0, t].set(v + 1)
            logits = np.asarray(net.apply(params, masked, valid[b:b + 1])[0][0, t, :v], np.float64)
            want += logits[int(x[b, t])] - np.log(np.exp(logits).sum())
        assert float(pll[b]) == pytest.approx(want, rel=1e-5)
    # BERT's rule: chosen ~ 15% of valid positions; of those 80% [MASK], 10% random, 10% kept
    long = jnp.tile(jnp.arange(v), 2000)
    keys = jax.random.split(jax.random.key(1), 4)
    out, chosen = jax.vmap(model.corrupt, (0, None))(keys, long)
    chosen = np.asarray(chosen, bool)
    assert chosen.mean() == pytest.approx(0.15, abs=0.01)
    out, orig = np.asarray(out)[chosen], np.broadcast_to(np.asarray(long), chosen.shape)[chosen]
    n = len(out)
    masked, kept = (out == v + 1).sum(), (out == orig).sum()
    # a random replacement equals the original 1 / v of the time
    expected = [0.8 * n, 0.1 * n * (1 - 1 / v), n * (0.1 + 0.1 / v)]
    observed = [masked, n - masked - kept, kept]
    assert stats.chisquare(observed, expected).pvalue > 1e-3, (observed, expected)
    assert not np.any(np.asarray(model.corrupt(jax.random.key(2), x[1])[1])[3:])  # padding never chosen


def test_masked_lm_smoke_run_reports_pseudo_log_likelihood(smoke_run):
    _, metrics, _ = smoke_run("masked_lm", "smoke")
    assert -metrics["pll_per_char"] == pytest.approx(math.log(10), abs=0.15)  # near uniform after 4 steps
    assert "test_log_likelihood" not in metrics  # not a likelihood: never in the protocol's table
