"""Text data: the Tiny Shakespeare TFDS builder (on a generated file), the 90 / 10 split, char and
BPE vocabularies, windows that predict every validation character once, the Markov text's
entropy rate, and the likelihood protocol per character."""

import math

import jax
import ml_collections
import numpy as np
import pytest

from jaxgen.data import load, protocol, text
from jaxgen.eval import likelihood as likelihood_lib


def text_config(**kw) -> ml_collections.ConfigDict:
    base = {"name": "markov_text", "dir": "", "tfds_dir": "", "download": False, "toy_seed": 0,
            "toy_train_size": 3000, "toy_test_size": 500, "tokenizer": "char", "vocab_size": 300, "block_size": 16}
    return ml_collections.ConfigDict({**base, **kw})


def test_tiny_shakespeare_builder_splits_90_10_without_tensorflow(tmp_path, monkeypatch):
    body = "".join(f"LINE {i}: to be, or not to be?\n" for i in range(200))
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text(body)
    monkeypatch.delenv("JAXGEN_DATA_DIR", raising=False)
    with pytest.raises(text.DataError, match="md5"):  # a generated file is not the published one
        load(text_config(name="tiny_shakespeare", dir=str(tmp_path), tfds_dir=str(tmp_path / "tfds")))
    import hashlib

    monkeypatch.setitem(text.TINY_SHAKESPEARE, "md5", hashlib.md5(body.encode()).hexdigest())
    loaded = load(text_config(name="tiny_shakespeare", dir=str(tmp_path), tfds_dir=str(tmp_path / "tfds2")))
    cut = int(len(body) * 0.9)
    vocab = loaded.text.vocab
    assert loaded.text.test_chars == len(body) - cut
    assert vocab.decode(loaded.train["x"][:, 0]) + vocab.decode(loaded.train["x"][-1, 1:]) == body[:cut]
    assert loaded.text.test_text_checksum == hashlib.sha256(body[cut:].encode()).hexdigest()[:16]
    assert loaded.spec.vocab_size == len(set(body[:cut]))


def test_missing_text_names_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv("JAXGEN_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="input.txt"):
        load(text_config(name="tiny_shakespeare", dir=str(tmp_path), tfds_dir=str(tmp_path / "tfds")))


@pytest.mark.parametrize("tokenizer", ["char", "bpe"])
def test_test_windows_predict_every_validation_character_once(tmp_path, tokenizer):
    loaded = load(text_config(tokenizer=tokenizer, tfds_dir=str(tmp_path)))
    info, train, test = loaded.text, loaded.train["x"], loaded.test["x"]
    vocab = info.vocab
    assert train.shape[1] == test.shape[1] == 17
    np.testing.assert_array_equal(train[1:, :-1], train[:-1, 1:])  # every offset of the stream
    assert test[0, 0] == train[-1, -1]  # the first test window starts on the last training token
    np.testing.assert_array_equal(test[1:, 0], test[:-1, -1])  # windows overlap by one token
    targets = test[:, 1:].reshape(-1)
    targets = targets[targets < vocab.size]
    assert np.all(test[:, 1:].reshape(-1)[len(targets):] == vocab.size)  # padding only at the end
    valid_text = vocab.decode(targets)
    assert len(valid_text) == info.test_chars == 500
    assert int(vocab.token_chars[test[:, 1:]].sum()) == 500
    ts = protocol.text_test_set(loaded.test, vocab.token_chars, info.test_text_checksum, "markov_text")
    assert ts.describe()["units"] == 500 and ts.describe()["unit"] == "character"
    if tokenizer == "bpe":
        assert vocab.size > 256 and len(targets) < 500  # merges shorten the stream
        again = load(text_config(tokenizer="bpe", tfds_dir=str(tmp_path)))  # the cached tokenizer
        np.testing.assert_array_equal(again.test["x"], test)


def _chain_nll(probs: np.ndarray, s: str) -> np.ndarray:
    a = len(text.MARKOV_ALPHABET)
    ids = np.array([text.MARKOV_ALPHABET.index(c) for c in s])
    return -np.log(probs[ids[:-2] * a + ids[1:-1], ids[2:]])


def test_markov_entropy_rate_matches_the_chain_on_both_splits():
    probs, rate = text.markov_chain(3)
    nll = _chain_nll(probs, text.markov_text(3, 60_000))
    assert abs(nll.mean() - rate) < 4 * nll.std() / math.sqrt(len(nll)) + 0.01
    assert 0.5 < rate < math.log(len(text.MARKOV_ALPHABET))  # peaked transitions: well below uniform
    # the loader's training and validation splits: independent stretches of the same chain
    splits, _ = text.text_splits("markov_text", {"toy_seed": 3, "toy_train_size": 30_000, "toy_test_size": 30_000,
                                                 "tfds_dir": ""})
    assert splits["train"] != splits["validation"]
    for split in splits.values():
        nll = _chain_nll(probs, split)
        assert abs(nll.mean() - rate) < 4 * nll.std() / math.sqrt(len(nll)) + 0.01


def test_likelihood_per_character_is_total_nats_over_total_characters():
    rng = np.random.default_rng(0)
    n = 37
    lp, units = -rng.uniform(10, 40, n), rng.integers(10, 20, n).astype(float)
    test = protocol.TestSet(np.zeros((n, 5), np.int32), None, "markov_text", False, None, "abc", unit="character",
                            num_units=int(units.sum()))
    batches = [{"x": test.x[i:i + 10], "index": np.arange(i, i + 10), "mask": (np.arange(i, i + 10) < n) * 1.0}
               for i in range(0, n, 10)]
    for b in batches:
        idx = np.minimum(b["index"], n - 1)
        b["lp"], b["units"] = lp[idx], units[idx]
    fn = lambda params, batch, key, stats: {"log_prob": batch["lp"], "units": batch["units"]}
    spec = likelihood_lib.Likelihood("exact", "test", fn)
    result = likelihood_lib.evaluate(spec, fn, None, test, batches, jax.random.key(0))
    assert result.log_likelihood == pytest.approx(lp.sum() / units.sum())
    assert result.bits_per_dim == pytest.approx(-lp.sum() / units.sum() / math.log(2))
    assert result.unit == "character" and result.protocol()["test_examples"] == int(units.sum())
    # the delta-method standard error against the jackknife's
    jack = np.array([(lp.sum() - lp[i]) / (units.sum() - units[i]) for i in range(n)])
    jack_se = math.sqrt((n - 1) / n * np.sum((jack - jack.mean()) ** 2))
    assert result.se == pytest.approx(jack_se, rel=0.1)
    wrong = protocol.TestSet(test.x, None, "markov_text", False, None, "abc", unit="character", num_units=1)
    with pytest.raises(ValueError, match="characters"):
        likelihood_lib.evaluate(spec, fn, None, wrong, batches, jax.random.key(0))
