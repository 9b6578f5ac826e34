"""The encoder-decoder transformer bound to the restoration task (jaxgen/data/seq2seq.py): packed
rows [source | BOS | target + EOS] give the encoder's source and the decoder's teacher-forced
inputs and targets. The loss is the mean cross-entropy per target token (EOS included); the
test log-likelihood is log p(target, EOS | source), exact, with the target's characters; decoding
is greedy or beam search over the decoder's KV cache, the encoder's memory carried in the state
(so beams copy it with the caches); the character error rate compares decoded and true targets."""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import rng as rng_lib
from jaxgen.losses.sequence import edit_distance, sequence_log_prob
from jaxgen.nn.transformer import EncoderDecoder
from jaxgen.sampling import decoding


@dataclasses.dataclass(frozen=True)
class Seq2Seq:
    net: EncoderDecoder  # over vocab_size + 3 ids
    vocab_size: int  # characters; V pads, V + 1 is BOS, V + 2 EOS
    max_len: int  # source length; targets hold max_len + 1 (with EOS)
    token_chars: np.ndarray  # [V + 1]

    @property
    def bos(self) -> int:
        return self.vocab_size + 1

    @property
    def eos(self) -> int:
        return self.vocab_size + 2

    def split(self, x):
        """(source [B, S], source valid, decoder inputs [B, S + 1], targets [B, S + 1], target mask)."""
        s = self.max_len
        source, dec_in, targets = x[:, :s], x[:, s:-1], x[:, s + 1:]
        return source, source != self.vocab_size, dec_in, targets, (targets != self.vocab_size).astype(jnp.float32)

    def init(self, key, x):
        """The network's params, shaped by packed rows x."""
        source, valid, dec_in, _, _ = self.split(x)
        return self.net.init(key, source, dec_in, valid)

    def chars(self) -> jax.Array:
        return jnp.asarray(np.concatenate([self.token_chars, np.zeros(2, self.token_chars.dtype)]))

    def log_prob(self, params, x, train: bool = False, key=None):
        """[B] log p(target + EOS | source) and [B] target tokens."""
        source, valid, dec_in, targets, mask = self.split(x)
        rngs = {"dropout": rng_lib.stream(key, "dropout")} if train else None
        logits = self.net.apply(params, source, dec_in, valid, train=train, rngs=rngs)
        return sequence_log_prob(logits, targets, mask), mask.sum(-1)

    def decode(self, params, source, beam: int = 0) -> jax.Array:
        """Targets [B, max_len + 1] decoded greedily (beam = 0) or the best of a beam search,
        everything after the first EOS set to padding."""
        valid = source != self.vocab_size
        memory = self.net.apply(params, source, valid, method=EncoderDecoder.encode)
        b = source.shape[0]
        state = {"caches": self.net.init_state(b), "memory": memory, "valid": valid}

        def step(tokens, positions, st):
            logits, caches = self.net.apply(params, st["memory"], st["valid"], tokens, positions, st["caches"],
                                            method=EncoderDecoder.decode)
            logits = logits.at[..., self.vocab_size:self.bos + 1].set(-1e30)  # never padding or BOS
            return logits, {**st, "caches": caches}

        prompt = jnp.full((b, 1), self.bos, jnp.int32)
        new = self.max_len + 1
        if beam:
            out = decoding.beam_search(step, state, prompt, new, beam)[0][:, 0, 1:]
        else:
            out = decoding.generate(step, state, prompt, new, jax.random.key(0), greedy=True)[:, 1:]
        ended = jnp.cumsum(out == self.eos, axis=1) - (out == self.eos) > 0  # strictly after the first EOS
        return jnp.where(ended, self.vocab_size, out)

    def error_counts(self, decoded, targets) -> tuple[jax.Array, jax.Array]:
        """([B] edit distances between decoded and true targets, [B] true target lengths), in
        characters, up to (not including) EOS."""
        def length(t):  # the first EOS or padding (the whole row when neither comes)
            t = jnp.concatenate([t, jnp.full((t.shape[0], 1), self.eos, t.dtype)], 1)
            return jnp.argmax((t == self.eos) | (t == self.vocab_size), axis=1)

        true_len, dec_len = length(targets), length(decoded)
        dist = jax.vmap(edit_distance)(decoded, dec_len, targets, true_len)
        return dist.astype(jnp.float32), true_len.astype(jnp.float32)


def make_loss_fn(model: Seq2Seq) -> Callable:
    def loss_fn(params, batch, key):
        lp, tokens = model.log_prob(params, batch["x"], train=True, key=key)
        loss = -lp.sum() / tokens.sum()
        return loss, {"loss": loss, "nats_per_token": loss}

    return loss_fn


def make_test_log_prob(model: Seq2Seq) -> Callable:
    chars = model.chars()

    def log_prob(params, batch, key, stats):
        lp, tokens = model.log_prob(params, batch["x"])
        _, _, _, targets, _ = model.split(batch["x"])
        return {"log_prob": lp, "units": chars[targets].sum(-1).astype(jnp.float32), "tokens": tokens}

    return log_prob
