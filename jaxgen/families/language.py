"""The language-model family: a decoder-only transformer (config.model.arch 'transformer') or an
LSTM / GRU (arch 'lstm' / 'gru') over token windows (configs transformer_lm.py, lstm_lm.py),
trained by maximum likelihood. The test log-likelihood is exact and reported per character of
the validation split, whatever the tokenizer. Samples continue a token from the vocabulary's
first id; figures/decoding.md continues real validation prompts with every decoding mode."""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data.pipeline import DataSpec
from jaxgen.data.text import TOKENIZERS
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.models import language as lm
from jaxgen.nn.rnn import CELLS, RNNLM
from jaxgen.nn.transformer import POSITIONS, TransformerLM
from jaxgen.sampling import decoding
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

TEXT_DATA = ("tiny_shakespeare", "markov_text")
ARCHS = ("transformer", *CELLS)
NET_KEYS = {"transformer": ("width", "depth", "heads", "mlp_ratio", "positions", "tie_embeddings"),
            "rnn": ("hidden", "layers")}
# figures/decoding.md: (name, generate keyword arguments)
DECODING_MODES = (("greedy", {"greedy": True}), ("temperature 1.0", {}), ("temperature 0.8", {"temperature": 0.8}),
                  ("top-k 10", {"top_k": 10}), ("top-p 0.9", {"top_p": 0.9}))


def make_net(config, spec: DataSpec):
    m = config.model
    block = spec.shape[0] - 1
    if m.arch == "transformer":
        return TransformerLM(spec.vocab_size, m.width, m.depth, m.heads, block, m.positions, m.tie_embeddings,
                             m.mlp_ratio, m.dropout)
    return RNNLM(spec.vocab_size, m.arch, m.hidden, m.layers, m.dropout)


def make_model(config, spec: DataSpec) -> lm.LanguageModel:
    return lm.LanguageModel(make_net(config, spec), spec.vocab_size, np.asarray(spec.token_chars, np.int32))


def build_language_model(config, spec: DataSpec) -> Family:
    m = config.model
    model = make_model(config, spec)
    block = spec.shape[0] - 1
    step = GradientStep(lm.make_loss_fn(model), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    log_prob = lm.make_log_prob(model)
    settings = {"context": block, "tokenizer": config.data.tokenizer, "vocab_size": spec.vocab_size}

    def generate(params, key, prompt, num_new, **mode):
        state = model.init_state(prompt.shape[0])
        return decoding.generate(model.step_fn(params), state, prompt, num_new, key, **mode)

    def sample(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to a language model (unconditional)")
        prompt = jnp.zeros((n, 1), jnp.int32)
        return generate(params, key, prompt, m.sample_length - 1, temperature=m.temperature, top_k=m.top_k,
                        top_p=m.top_p)

    def likelihood(final: bool) -> Likelihood:
        del final  # exact
        return Likelihood("exact", "autoregressive", log_prob, settings,
                          dequantization="none (discrete tokens)")

    def init(key, batch):
        return model.net.init(key, batch["x"][:1, :-1])

    def artifacts(params, key, loaded, workdir):
        """figures/decoding.md: validation prompts continued by every decoding mode."""
        vocab = loaded.text.vocab
        prompt_len = min(m.prompt_length, block // 2)
        prompt = jnp.asarray(loaded.test["x"][:m.num_prompts, 1:1 + prompt_len])
        title = (f"# Decoding ({m.arch}): {m.num_prompts} validation prompts of {prompt_len} tokens, "
                 f"{block - prompt_len} new tokens")
        lines = [title, ""]
        outs = {}
        for i, (name, mode) in enumerate(DECODING_MODES):
            fn = jax.jit(lambda p, k, mode=mode: generate(p, k, prompt, block - prompt_len, **mode))
            outs[name] = np.asarray(fn(params, jax.random.fold_in(key, i)))
        for j in range(m.num_prompts):
            lines += [f"## Prompt {j}", "", "```", vocab.decode(np.asarray(prompt[j])), "```", ""]
            for name, out in outs.items():
                lines += [f"**{name}**", "", "```", vocab.decode(out[j, prompt_len:]), "```", ""]
        path = os.path.join(workdir, "figures", "decoding.md")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return {"decoding": path}

    return Family(init_params=init, step=step, sample=sample, likelihood=likelihood, artifacts=artifacts)


def check_transformer(m, errors: list[str]) -> None:
    """The checks every transformer's model section shares (language, masked and encoder-decoder
    models): positions, widths and heads."""
    if m.positions not in POSITIONS:
        errors.append(f"config.model.positions={m.positions!r}: expected one of {POSITIONS}")
    for key in ("width", "depth", "heads", "mlp_ratio"):
        if m[key] <= 0:
            errors.append(f"config.model.{key}={m[key]}: must be positive")
    if m.heads > 0 and m.width % m.heads:
        errors.append(f"config.model.width={m.width}: not divisible by config.model.heads={m.heads}")
    elif m.heads > 0 and m.positions == "rotary" and (m.width // m.heads) % 2:
        errors.append(f"config.model.width={m.width} / heads={m.heads}: rotary positions need an even head width")


def validate_language_model(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m, d = config.model, config.data
    if d.name not in TEXT_DATA:
        errors.append(f"config.data.name={d.name!r}: a language model reads text {TEXT_DATA}")
    if d.get("tokenizer") not in TOKENIZERS:
        errors.append(f"config.data.tokenizer={d.get('tokenizer')!r}: expected one of {TOKENIZERS}")
    elif d.tokenizer == "bpe" and d.vocab_size <= 256:
        errors.append(f"config.data.vocab_size={d.vocab_size}: a byte-level BPE starts from 256 bytes; ask for more")
    if d.get("block_size", 0) < 2:
        errors.append(f"config.data.block_size={d.get('block_size')}: must be >= 2 tokens of context")
    if m.arch not in ARCHS:
        errors.append(f"config.model.arch={m.arch!r}: expected one of {ARCHS}")
        return
    needs = NET_KEYS["transformer" if m.arch == "transformer" else "rnn"]
    missing = [k for k in needs if k not in m]
    if missing:
        errors.append(f"config.model.arch={m.arch!r} needs config.model keys {missing} (build the model section "
                      "with experiments/configs/transformer_lm.py's language_model(arch))")
        return
    if m.arch == "transformer":
        check_transformer(m, errors)
    rnn_sizes = () if m.arch == "transformer" else NET_KEYS["rnn"]
    for key in (*rnn_sizes, "sample_length", "prompt_length", "num_prompts"):
        if m[key] <= 0:
            errors.append(f"config.model.{key}={m[key]}: must be positive")
    if d.get("block_size", 0) >= 2 and not 2 <= m.sample_length <= d.block_size:
        errors.append(f"config.model.sample_length={m.sample_length}: must be in 2..config.data.block_size="
                      f"{d.block_size} (the context the model was trained on)")
    if m.temperature <= 0:
        errors.append(f"config.model.temperature={m.temperature}: must be > 0")
    if not 0 < m.top_p <= 1:
        errors.append(f"config.model.top_p={m.top_p}: must be in (0, 1]")
    if m.top_k < 0:
        errors.append(f"config.model.top_k={m.top_k}: must be >= 0 (0: no cut)")
    if not 0 <= m.dropout < 1:
        errors.append(f"config.model.dropout={m.dropout}: must be in [0, 1)")
