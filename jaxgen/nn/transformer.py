"""Transformers over token ids: decoder-only language model (causal, KV cache), bidirectional
encoder (masked language model) and encoder-decoder (sequence to sequence), all built from
jaxgen.nn.attention's blocks.

Every network maps (tokens [B, T], ...) -> (logits [B, T, V], state): `state` is the list of
per-layer KV caches when decoding (None otherwise), the interface jaxgen.sampling.decoding runs.
"""

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.nn.attention import Block, causal_mask, init_cache, padding_mask

POSITIONS = ("learned", "rotary")
EMBED_INIT = nn.initializers.normal(0.02)  # GPT-2's; with tied output weights, logits start near 0


def _caches(net, batch: int, dtype) -> list[dict]:
    """Empty KV caches, one per decoder layer, for decoding up to net.max_len tokens."""
    return [init_cache(batch, net.max_len, net.heads, net.width // net.heads, dtype) for _ in range(net.depth)]


class _Embedding(nn.Module):
    vocab_size: int
    width: int
    max_len: int
    positions: str
    dropout: float

    def setup(self):
        if self.positions not in POSITIONS:
            raise ValueError(f"positions={self.positions!r}: expected one of {POSITIONS}")
        self.embed = nn.Embed(self.vocab_size, self.width, embedding_init=EMBED_INIT)
        if self.positions == "learned":
            self.pos = self.param("pos", EMBED_INIT, (self.max_len, self.width))
        self.drop = nn.Dropout(self.dropout)

    def __call__(self, tokens, positions, train):
        x = self.embed(tokens)  # [B, T, W]
        if self.positions == "learned":
            x = x + jnp.take(self.pos, positions, axis=0)[None]
        return self.drop(x, deterministic=not train)

    def logits(self, x):
        return self.embed.attend(x)


class TransformerLM(nn.Module):
    """Decoder-only language model (GPT): causal self-attention, pre-LayerNorm blocks, learned
    or rotary positions, output weights tied to the embedding or not."""

    vocab_size: int
    width: int = 128
    depth: int = 4
    heads: int = 4
    max_len: int = 256  # longest sequence (learned positions, cache length)
    positions: str = "learned"
    tie_embeddings: bool = True
    mlp_ratio: int = 4
    dropout: float = 0.0

    def init_state(self, batch: int, dtype=jnp.float32) -> list[dict]:
        return _caches(self, batch, dtype)

    @nn.compact
    def __call__(self, tokens, positions=None, state=None, train: bool = False):
        """tokens [B, T] at absolute `positions` [T] (default 0..T-1); with `state` (caches) the
        tokens attend to every cached position before them."""
        positions = jnp.arange(tokens.shape[1]) if positions is None else positions
        emb = _Embedding(self.vocab_size, self.width, self.max_len, self.positions, self.dropout, name="embedding")
        x = emb(tokens, positions, train)
        keys = positions if state is None else jnp.arange(self.max_len)
        mask = causal_mask(positions, keys)
        new_state = []
        for i in range(self.depth):
            x, cache = Block(self.heads, self.mlp_ratio, self.dropout, self.positions == "rotary", name=f"block{i}")(
                x, mask, positions, None if state is None else state[i], train=train)
            new_state.append(cache)
        x = nn.LayerNorm(name="ln_final")(x)
        logits = emb.logits(x) if self.tie_embeddings else nn.Dense(self.vocab_size, name="head")(x)
        return logits, (None if state is None else new_state)


class TransformerEncoder(nn.Module):
    """Bidirectional encoder (BERT): every token attends to every non-padding token. With
    `vocab_size` logits it is a masked language model; `encode` returns the final states."""

    vocab_size: int
    width: int = 128
    depth: int = 4
    heads: int = 4
    max_len: int = 256
    positions: str = "learned"
    mlp_ratio: int = 4
    dropout: float = 0.0

    @nn.compact
    def __call__(self, tokens, valid=None, train: bool = False):
        """tokens [B, T]; valid [B, T] bool (False: padding, never attended to) -> (logits, states)."""
        positions = jnp.arange(tokens.shape[1])
        emb = _Embedding(self.vocab_size, self.width, self.max_len, self.positions, self.dropout, name="embedding")
        x = emb(tokens, positions, train)
        mask = None if valid is None else padding_mask(valid)
        for i in range(self.depth):
            x, _ = Block(self.heads, self.mlp_ratio, self.dropout, self.positions == "rotary", name=f"block{i}")(
                x, mask, positions, train=train)
        x = nn.LayerNorm(name="ln_final")(x)
        return emb.logits(x), x


class EncoderDecoder(nn.Module):
    """Encoder-decoder transformer (Vaswani et al. 2017, pre-LayerNorm): a bidirectional encoder
    over the source, a causal decoder with cross-attention to it, one shared vocabulary."""

    vocab_size: int
    width: int = 128
    depth: int = 3  # layers of each side
    heads: int = 4
    max_len: int = 256
    positions: str = "learned"
    mlp_ratio: int = 4
    dropout: float = 0.0

    def setup(self):
        self.encoder = TransformerEncoder(self.vocab_size, self.width, self.depth, self.heads, self.max_len,
                                          self.positions, self.mlp_ratio, self.dropout)
        self.embedding = _Embedding(self.vocab_size, self.width, self.max_len, self.positions, self.dropout)
        self.blocks = [Block(self.heads, self.mlp_ratio, self.dropout, self.positions == "rotary", cross=True)
                       for _ in range(self.depth)]
        self.ln_final = nn.LayerNorm()

    def init_state(self, batch: int, dtype=jnp.float32) -> list[dict]:
        return _caches(self, batch, dtype)

    def encode(self, source, source_valid=None, train: bool = False):
        return self.encoder(source, source_valid, train)[1]

    def decode(self, memory, source_valid, tokens, positions=None, state=None, train: bool = False):
        """Decoder logits [B, T, V] of target tokens given the encoder's `memory` [B, S, W]."""
        positions = jnp.arange(tokens.shape[1]) if positions is None else positions
        x = self.embedding(tokens, positions, train)
        keys = positions if state is None else jnp.arange(self.max_len)
        mask = causal_mask(positions, keys)
        context_mask = None if source_valid is None else padding_mask(source_valid)
        new_state = []
        for i, block in enumerate(self.blocks):
            x, cache = block(x, mask, positions, None if state is None else state[i], memory, context_mask, train)
            new_state.append(cache)
        return self.embedding.logits(self.ln_final(x)), (None if state is None else new_state)

    def __call__(self, source, tokens, source_valid=None, train: bool = False):
        memory = self.encode(source, source_valid, train)
        return self.decode(memory, source_valid, tokens, train=train)[0]
