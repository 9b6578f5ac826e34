"""The leaderboard on the smoke configs (every family's row, three files, resume) and the
likelihood protocol's guards (tables refuse to mix protocols; a non-finite value is named)."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from experiments import leaderboard as leaderboard_cli
from jaxgen.data import protocol
from jaxgen.eval import likelihood

# every entry's run is the session's shared smoke run (tests/conftest.py), reused by the board
SHARED = {"feature net": ("classifier", "smoke"), "VAE": ("vae", "smoke"), "RBM": ("rbm", "smoke"),
          "RBM PCD": ("rbm", "smoke_pcd"), "DBN": ("dbn", "smoke"), "DBM": ("dbm", "smoke"),
          "Bernoulli mixture": ("bernoulli_mixture", "smoke"), "GMM": ("gmm", "smoke"), "PPCA": ("ppca", "smoke"),
          "KDE": ("kde", "smoke"), "DCGAN": ("dcgan", "smoke"), "AAE": ("aae", "smoke"),
          "Hierarchical VAE": ("hvae", "smoke"), "PixelCNN": ("pixelcnn", "smoke"),
          "Gated PixelCNN": ("pixelcnn", "smoke_gated"), "autoencoder": ("ae", "smoke"),
          "Glow": ("glow", "smoke")}


@pytest.mark.slow
def test_smoke_leaderboard_writes_every_row_and_resumes_only_unfinished_entries(tmp_path, smoke_run):
    from jaxgen.run.leaderboard import run

    root = tmp_path / "board"
    entries, feature_net, num_samples = leaderboard_cli.BOARDS["smoke"]
    assert set(SHARED) == {e.label for e in entries} | {"feature net"}
    shared = {label: str(smoke_run(*spec).workdir) for label, spec in SHARED.items()}

    def board_run():
        run("smoke", entries, str(root), feature_net, "digits", num_samples, progress=False, workdirs=shared)

    board_run()
    md = (root / "leaderboard.md").read_text()
    board = json.loads((root / "leaderboard.json").read_text())
    labels = [r["label"] for r in board["entries"]]
    assert labels == [e.label for e in entries] + ["real data (floor)"]
    for record in board["entries"][:-1]:
        assert f"| {record['label']} |" in md and record["num_parameters"] > 0
        if record["likelihood"]:  # measured under the protocol it records
            assert record["likelihood"]["test"]["test_checksum"] in md
    # the stepped binarised-digit families share one table: the same fixed binarisation of the
    # first 100 test images; the one-call mixture is measured on all 297, a table of its own
    binary = [r for r in board["entries"] if r.get("likelihood") and r["likelihood"]["test"]["binarized"]
              and r["likelihood"]["test"]["test_examples"] == 100]
    assert {r["family"] for r in binary} == {"rbm", "dbn", "dbm", "hvae", "autoregressive"}
    assert len({r["likelihood"]["test"]["test_checksum"] for r in binary}) == 1
    # ... except the class-conditional Gated PixelCNN's log p(x | y): a table of its own
    assert [r["label"] for r in binary if r["likelihood"].get("conditional")] == ["Gated PixelCNN"]
    assert md.count("## digits, binarised") == 3 and md.count("log p(x | y)") == 1
    # the flow's dequantised bound on the 17 levels shares the VAE's discrete table
    grey = [r for r in board["entries"] if r.get("likelihood") and not r["likelihood"]["test"]["binarized"]
            and r["likelihood"]["test"]["data"] == "digits" and r["likelihood"]["test"]["test_examples"] == 100]
    assert {r["family"] for r in grey} == {"vae", "flow"} and len({r["likelihood"]["test"]["test_checksum"] for r in grey}) == 1
    html = (root / "leaderboard.html").read_text()
    assert html.count("data:image/png;base64,") == len(entries) + 1  # every sample grid and the floor's
    # killed after every entry but one: only that one is measured again
    kde = root / "entries" / "kde.json"
    kept = {p: p.stat().st_mtime_ns for p in (root / "entries").iterdir() if p != kde}
    fit_rows = (smoke_run("kde", "smoke").workdir / "metrics.jsonl").read_text()
    kde.unlink()
    board_run()
    assert kde.exists() and all(p.stat().st_mtime_ns == t for p, t in kept.items())
    assert (smoke_run("kde", "smoke").workdir / "metrics.jsonl").read_text() == fit_rows  # the fit was reused


def test_likelihood_tables_refuse_to_mix_protocols():
    def result(checksum, discrete=True, conditional=False):
        test = {"data": "digits", "test_examples": 3, "test_checksum": checksum, "binarized": True, "num_bins": 2,
                "dequantized": False}
        return likelihood.LikelihoodResult(-1.0, 0.1, 0.5, "exact", "x", {}, test, "none", discrete, {}, {},
                                           conditional)

    assert "| a |" in likelihood.table([("a", result("c1")), ("b", result("c1"))])
    with pytest.raises(ValueError, match="different protocols never share a table"):
        likelihood.table([("a", result("c1")), ("b", result("c2"))])
    with pytest.raises(ValueError, match="different protocols"):
        likelihood.table([("a", result("c1")), ("b", result("c1", discrete=False))])
    with pytest.raises(ValueError, match="different protocols"):  # log p(x | y) is not log p(x)
        likelihood.table([("a", result("c1")), ("b", result("c1", conditional=True))])
    assert "log p(x | y)" in likelihood.table([("a", result("c1", conditional=True))])


def test_text_results_compare_per_character_whatever_the_tokenizer():
    def result(windows, chars, unit="character"):
        test = {"data": "tiny_shakespeare", "test_examples": windows, "test_checksum": "t", "binarized": False,
                "num_bins": None, "dequantized": False, "unit": unit, "units": chars}
        return likelihood.LikelihoodResult(-1.5, 0.01, 1.5 / np.log(2), "exact", "autoregressive", {}, test, "none",
                                           True, {}, {}, False, unit)

    table = likelihood.table([("char", result(872, 111540)), ("bpe", result(400, 111540))])  # other windows
    assert "nats per character" in table and "bits/char" in table and "111540 characters" in table
    with pytest.raises(ValueError, match="different protocols"):  # a prefix of the text is another test set
        likelihood.table([("char", result(872, 111540)), ("short", result(100, 12800))])


def test_evaluate_averages_in_float64_adds_the_shared_error_and_names_non_finite_examples():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    test = protocol.TestSet(x, None, "toy", False, None, protocol.checksum(x))

    def log_prob(params, batch, key, stats):
        return {"log_prob": -jnp.sum(batch["x"], -1) + stats, "twice": 2.0 * jnp.sum(batch["x"], -1)}

    spec = likelihood.Likelihood("estimate", "toy", log_prob, prepare=lambda p, k: (jnp.float32(0.5),
                                                                                   {"log_z_se": 0.3}),
                                 shared_se="log_z_se", discrete=False)
    res = likelihood.evaluate(spec, log_prob, None, test, test.batches(2), jnp.zeros(2, jnp.uint32))
    values = -x.sum(1) + 0.5
    assert res.log_likelihood == pytest.approx(values.mean())
    assert res.se == pytest.approx(np.sqrt(values.var(ddof=1) / 5 + 0.3**2))
    assert res.extra["twice"] == pytest.approx(2 * x.sum(1).mean()) and res.bits_per_dim == pytest.approx(
        -values.mean() / (2 * np.log(2)))
    bad = likelihood.Likelihood("exact", "toy", lambda p, b, k, s: {"log_prob": jnp.log(b["x"][:, 0] - 4.0)},
                                discrete=False)
    with pytest.raises(FloatingPointError, match=r"test example\(s\) \[0, 1\]"):
        likelihood.evaluate(bad, bad.log_prob, None, test, test.batches(2), jnp.zeros(2, jnp.uint32))


def test_cli_names_a_family_without_an_entry(tmp_path, capsys):
    with pytest.raises(SystemExit):
        leaderboard_cli.main(["--dataset", "smoke", "--families", "vae,pixelcnn", "--workdir", str(tmp_path)])
    assert "['pixelcnn'] have no smoke leaderboard entry" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
