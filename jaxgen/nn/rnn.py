"""Recurrent language models: stacked LSTM or GRU over token embeddings (Graves 2013; the
char-rnn baseline), with the same (tokens, positions, state) -> (logits, state) interface as
the transformer so one decoder runs both; `state` is the list of per-layer carries."""

import jax.numpy as jnp
from flax import linen as nn

CELLS = {"lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell}


class RNNLM(nn.Module):
    vocab_size: int
    cell: str = "lstm"
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.0  # between layers and before the output

    def _cells(self):
        if self.cell not in CELLS:
            raise ValueError(f"cell={self.cell!r}: expected one of {tuple(CELLS)}")
        return [CELLS[self.cell](self.hidden) for _ in range(self.layers)]

    def init_state(self, batch: int, dtype=jnp.float32) -> list:
        """Zero carries, one per layer."""
        zeros = jnp.zeros((batch, self.hidden), dtype)
        return [(zeros, zeros) if self.cell == "lstm" else zeros for _ in range(self.layers)]

    @nn.compact
    def __call__(self, tokens, positions=None, state=None, train: bool = False):
        """tokens [B, T] -> (logits [B, T, V], the carries after the last token). Without `state`
        the sequence starts from zero carries (positions are implicit in the recurrence)."""
        x = nn.Embed(self.vocab_size, self.hidden, name="embed")(tokens)  # [B, T, H]
        state = self.init_state(tokens.shape[0], x.dtype) if state is None else state
        new_state = []
        for i, cell in enumerate(self._cells()):
            carry, x = nn.RNN(cell, return_carry=True, name=f"rnn{i}")(x, initial_carry=state[i])
            new_state.append(carry)
            x = nn.Dropout(self.dropout)(x, deterministic=not train)
        return nn.Dense(self.vocab_size, name="head")(x), new_state
