"""Deep belief networks (Hinton, Osindero & Teh 2006): a stack of RBMs trained greedily.

Layer l is an RBM whose visible units are layer l - 1's hidden units; it is trained (CD-k or
PCD, `fit_rbm`) on the hidden-unit probabilities p(h | v) of the layer below. The generative
model is the top RBM (undirected) over the two top layers and sigmoid belief-net connections
downwards, p(h_{l-1} | h_l) = sigmoid(a_l + W_l h_l). Sampling runs Gibbs in the top RBM,
then one ancestral down pass.
"""

import jax
import jax.numpy as jnp
from flax import struct

from jaxgen.classical.rbm import RBM, fit_rbm

Array = jax.Array


@struct.dataclass
class DBN:
    layers: tuple  # RBMs, bottom first

    def up(self, v: Array, depth: int | None = None) -> Array:
        """Mean-field recognition pass: p(h | v) probabilities through `depth` layers (all)."""
        for rbm in self.layers[: len(self.layers) if depth is None else depth]:
            v = jax.nn.sigmoid(rbm.hidden_logits(v))
        return v

    def down(self, key: Array, h: Array, mean_last: bool = True) -> Array:
        """Ancestral pass from the top RBM's visible layer to the data (probabilities at the
        bottom when `mean_last`, the usual way to show samples)."""
        for i, rbm in enumerate(reversed(self.layers[:-1])):
            p = jax.nn.sigmoid(rbm.visible_mean(h))
            last = i == len(self.layers) - 2
            h = p if (last and mean_last) else jax.random.bernoulli(jax.random.fold_in(key, i), p).astype(p.dtype)
        return h

    def sample(self, key: Array, n: int, num_steps: int = 1000, mean_last: bool = True) -> Array:
        """[n, V]: `num_steps` Gibbs sweeps in the top RBM from random states, then the down pass."""
        k_top, k_down = jax.random.split(key)
        top = self.layers[-1]
        k0, k_run = jax.random.split(k_top)
        v = jax.random.bernoulli(k0, 0.5, (n, top.a.shape[0])).astype(jnp.float32)
        v, _ = jax.lax.scan(lambda v, k: (top.gibbs_step(k, v), None), v, jax.random.split(k_run, num_steps))
        if len(self.layers) == 1:
            return jax.nn.sigmoid(top.visible_mean(top.sample_h(k_down, v))) if mean_last else v
        return self.down(k_down, v, mean_last)

    def lower_bound(self, key: Array, v: Array, log_z_top: Array, num_samples: int = 10) -> Array:
        """[N] variational lower bound on log p(v) of a two-layer DBN (Salakhutdinov & Murray 2008):
        E_q[log p(h1) + log p(v | h1)] + H(q), q(h1 | v) the first RBM's factorial posterior,
        p(h1) = exp(-F_top(h1)) / Z_top; a Monte Carlo average over `num_samples` draws of h1."""
        if len(self.layers) != 2:
            raise ValueError(f"lower_bound is written for two-layer DBNs, got {len(self.layers)} layers")
        bottom, top = self.layers
        q = jax.nn.sigmoid(bottom.hidden_logits(v))  # [N, H1]
        entropy = -jnp.sum(q * jnp.log(jnp.clip(q, 1e-30)) + (1 - q) * jnp.log(jnp.clip(1 - q, 1e-30)), -1)

        def one(k):
            h1 = jax.random.bernoulli(k, q).astype(v.dtype)
            logits = bottom.visible_mean(h1)
            log_pv_h = -jnp.sum(v * jax.nn.softplus(-logits) + (1 - v) * jax.nn.softplus(logits), -1)
            return -top.free_energy(h1) - log_z_top + log_pv_h

        return jnp.mean(jax.vmap(one)(jax.random.split(key, num_samples)), 0) + entropy


def fit_dbn(key: Array, v_data: Array, hidden: tuple[int, ...], callback=None, **rbm_kwargs) -> DBN:
    """Greedy layer-wise training: each RBM (`fit_rbm(**rbm_kwargs)`, e.g. num_epochs, k,
    persistent) is fitted to the p(h | v) probabilities of the layer below.
    `callback(layer, epoch, rbm, reconstruction error)` reports progress."""
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must list positive layer widths, got {hidden}")
    layers: list[RBM] = []
    x = jnp.asarray(v_data, jnp.float32)
    for i, h in enumerate(hidden):
        cb = None if callback is None else (lambda e, r, err, i=i: callback(i, e, r, err))
        rbm = fit_rbm(jax.random.fold_in(key, i), x, h, callback=cb, **rbm_kwargs)
        layers.append(rbm)
        x = jax.nn.sigmoid(rbm.hidden_logits(x))
    return DBN(tuple(layers))
