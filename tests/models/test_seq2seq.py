"""The restoration task and the encoder-decoder: edit distance against the textbook dynamic
programme, the pairs' packing, a smoke run reporting log p(target | source) per character and
the character error rate."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.data import seq2seq
from jaxgen.losses.sequence import edit_distance


def levenshtein(a, b) -> int:
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[-1]


def test_edit_distance_equals_the_dynamic_programme():
    rng = np.random.default_rng(0)
    for _ in range(200):
        la, lb = rng.integers(0, 9, 2)
        a, b = rng.integers(0, 3, la), rng.integers(0, 3, lb)
        pa, pb = np.zeros(9, np.int32), np.zeros(11, np.int32)  # padded with junk beyond the lengths
        pa[:la], pb[:lb] = a, b
        assert int(edit_distance(jnp.asarray(pa), la, jnp.asarray(pb), lb)) == levenshtein(a.tolist(), b.tolist())


def test_pairs_pack_source_bos_target_eos():
    assert seq2seq.corrupt("  What, ho! Apothecary!  ") == "what ho apothecary"
    encode = lambda s: np.array([ord(c) - 32 for c in s], np.int32)
    row = seq2seq.pack(["Ay, Sir."], encode, pad=95, max_len=10)[0]
    assert row.tolist() == [*encode("ay sir"), *[95] * 4, 96, *encode("Ay, Sir."), 97, *[95] * 2]
    with pytest.raises(seq2seq.DataError, match="longer than"):
        seq2seq.pack(["x" * 11], encode, 95, 10)


def test_seq2seq_smoke_run_reports_conditional_likelihood_and_cer(smoke_run):
    workdir, metrics, _ = smoke_run("seq2seq", "smoke")
    result = json.loads((workdir / "likelihood.json").read_text())
    assert result["conditional"] and result["unit"] == "character"
    assert result["test"]["units"] == sum(  # every target character of the test pairs
        len(line) for line in seq2seq.lines_of("markov", "x" * 500) if seq2seq.corrupt(line))
    assert 0.0 <= metrics["cer"] <= 2.0
    assert "beam:" in (workdir / "figures" / "restoration.md").read_text()
