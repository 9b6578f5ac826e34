"""`Conv`: the one convolution layer of every jaxgen network.

Same parameters as `flax.linen.Conv` ('kernel' [kh, kw, in, out], 'bias' [out]) and the same
function, so checkpoints written with either load in the other; the XLA program behind it is
the lowering `jaxgen.nn.lowering.choose` measured fastest for the shape (or `lowering=`).
An optional PixelCNN causal mask ('A' / 'B') multiplies the kernel, and the kernel rows it
zeroes are not computed.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn import lowering as lowering_lib


class Conv(nn.Module):
    """x [B, H, W, C] -> [B, H', W', features] (a drop-in for `flax.linen.Conv` on 2-D NHWC).

    lowering: 'auto' (per-shape choice) or one of `jaxgen.nn.lowering.LOWERINGS`.
    mask_type: None, 'A' or 'B' (PixelCNN); mask_groups orders channel groups at the centre tap.
    """

    features: int
    kernel_size: Sequence[int]
    strides: int | Sequence[int] = 1
    padding: lowering_lib.Padding = "SAME"
    use_bias: bool = True
    mask_type: str | None = None
    mask_groups: int = 1
    lowering: str = "auto"
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"Conv expects [B, H, W, C] inputs, got shape {x.shape}")
        kh, kw = tuple(self.kernel_size)
        strides = (self.strides, self.strides) if isinstance(self.strides, int) else tuple(self.strides)
        kernel = self.param("kernel", self.kernel_init, (kh, kw, x.shape[-1], self.features), jnp.float32)
        pads = lowering_lib.explicit_padding(x.shape[1:3], (kh, kw), strides, self.padding)
        mask = None
        if self.mask_type is not None:
            mask = lowering_lib.causal_mask((kh, kw), x.shape[-1], self.features, self.mask_type, self.mask_groups)
            kernel = kernel * mask
        rows = lowering_lib.crop_zero_rows(kh, mask)
        lowering = self.lowering
        if lowering == "auto":
            lowering = lowering_lib.choose(x.shape[0], x.shape[1:3], x.shape[-1], self.features, (rows, kw), strides)
        if rows < kh and lowering != "fft":  # an FFT costs the same whatever the kernel's size
            kernel, pads = lowering_lib.crop_rows(kernel, pads, rows)
        y = lowering_lib.conv2d(x, kernel.astype(x.dtype), strides, pads, lowering)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,), jnp.float32).astype(y.dtype)
        return y
