"""The masked-language-model family (BERT's objective on token windows; config masked_lm.py).
It has no test log-likelihood under the protocol: its score, the pseudo-log-likelihood per
character of the validation text, is a diagnostic (test_pll_per_char) beside the masked-token
cross-entropy. No sampler (a masked LM is not a generative model of whole sequences)."""

import jax
import numpy as np

from jaxgen.data.pipeline import DataSpec
from jaxgen.families.base import Family
from jaxgen.families.language import TEXT_DATA, check_transformer
from jaxgen.models import masked_lm as mlm
from jaxgen.nn.transformer import TransformerEncoder
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep


def make_model(config, spec: DataSpec) -> mlm.MaskedLM:
    m = config.model
    net = TransformerEncoder(spec.vocab_size + 2, m.width, m.depth, m.heads, spec.shape[0], m.positions,
                             m.mlp_ratio, m.dropout)
    return mlm.MaskedLM(net, spec.vocab_size, np.asarray(spec.token_chars, np.int32), m.mask_rate)


def build_masked_lm(config, spec: DataSpec) -> Family:
    model = make_model(config, spec)
    step = GradientStep(mlm.make_loss_fn(model), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    chars = jax.numpy.asarray(model.token_chars)

    def diagnostics(params, batch, key):
        x = batch["x"]
        masked_nats, masked_tokens = mlm.masked_nats(model, params, batch, key)
        return {"pll": mlm.pseudo_log_likelihood(model, params, x, config.model.pll_chunk),
                "chars": chars[x[:, 1:]].sum(-1).astype(jax.numpy.float32),
                "masked_nats": masked_nats, "masked_tokens": masked_tokens}

    def summarize(avg):
        return {"pll_per_char": avg["pll"] / avg["chars"], "masked_token_nats": avg["masked_nats"] / avg["masked_tokens"]}

    def init(key, batch):
        return model.net.init(key, batch["x"][:1])

    return Family(init_params=init, step=step, diagnostics=diagnostics, summarize=summarize)


def validate_masked_lm(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m, d = config.model, config.data
    if d.name not in TEXT_DATA:
        errors.append(f"config.data.name={d.name!r}: a masked language model reads text {TEXT_DATA}")
    check_transformer(m, errors)
    if not 0 < m.mask_rate < 1:
        errors.append(f"config.model.mask_rate={m.mask_rate}: must be in (0, 1)")
    if m.pll_chunk <= 0:
        errors.append(f"config.model.pll_chunk={m.pll_chunk}: must be positive")
