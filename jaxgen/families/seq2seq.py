"""The sequence-to-sequence family: an encoder-decoder transformer on the punctuation and case
restoration task (jaxgen/data/seq2seq.py; config seq2seq.py). Test log-likelihood: log p(target |
source) per target character (exact, conditional). Diagnostic: the character error rate of greedy
decoding (test_cer). figures/restoration.md shows sources, targets, greedy and beam outputs."""

import os

import jax
import numpy as np

from jaxgen.data.pipeline import DataSpec
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.families.language import check_transformer
from jaxgen.models import seq2seq as s2s
from jaxgen.nn.transformer import EncoderDecoder
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

TASK_DATA = ("tiny_shakespeare_restore", "markov_restore")


def make_model(config, spec: DataSpec) -> s2s.Seq2Seq:
    m = config.model
    max_len = (spec.shape[0] - 2) // 2
    net = EncoderDecoder(spec.vocab_size + 3, m.width, m.depth, m.heads, max_len + 1, m.positions, m.mlp_ratio,
                         m.dropout)
    return s2s.Seq2Seq(net, spec.vocab_size, max_len, np.asarray(spec.token_chars, np.int32))


def build_seq2seq(config, spec: DataSpec) -> Family:
    m = config.model
    model = make_model(config, spec)
    step = GradientStep(s2s.make_loss_fn(model), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    test_log_prob = s2s.make_test_log_prob(model)

    def likelihood(final: bool) -> Likelihood:
        del final
        return Likelihood("exact", "autoregressive decoder", test_log_prob, {"task": "restore case and punctuation"},
                          dequantization="none (discrete tokens)", conditional=True)

    def diagnostics(params, batch, key):
        source, _, _, targets, _ = model.split(batch["x"])
        errors, lengths = model.error_counts(model.decode(params, source), targets)
        return {"char_errors": errors, "target_chars": lengths}

    def summarize(avg):
        return {"cer": avg["char_errors"] / avg["target_chars"]}

    def artifacts(params, key, loaded, workdir):
        vocab = loaded.text.vocab
        x = jax.numpy.asarray(loaded.test["x"][:m.num_examples_shown])
        source, _, _, targets, _ = model.split(x)
        greedy = np.asarray(jax.jit(lambda p: model.decode(p, source))(params))
        beam = np.asarray(jax.jit(lambda p: model.decode(p, source, m.beam))(params))
        lines = [f"# Restoration: greedy and beam search (width {m.beam})", ""]
        for i in range(len(x)):
            lines += [f"- source: `{vocab.decode(np.asarray(source[i]))}`", f"  - target: `{vocab.decode(np.asarray(targets[i]))}`",
                      f"  - greedy: `{vocab.decode(greedy[i])}`", f"  - beam:   `{vocab.decode(beam[i])}`"]
        path = os.path.join(workdir, "figures", "restoration.md")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return {"restoration": path}

    return Family(init_params=lambda key, batch: model.init(key, batch["x"][:1]), step=step,
                  likelihood=likelihood, diagnostics=diagnostics, summarize=summarize, artifacts=artifacts)


def validate_seq2seq(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m, d = config.model, config.data
    if d.name not in TASK_DATA:
        errors.append(f"config.data.name={d.name!r}: the sequence-to-sequence task reads {TASK_DATA}")
    if d.get("tokenizer") != "char":
        errors.append(f"config.data.tokenizer={d.get('tokenizer')!r}: the restoration task reads characters ('char')")
    check_transformer(m, errors)
    for key in ("beam", "num_examples_shown"):
        if m[key] <= 0:
            errors.append(f"config.model.{key}={m[key]}: must be positive")
