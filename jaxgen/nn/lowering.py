"""Lowerings of one 2-D convolution (NHWC input, HWIO kernel, cross-correlation as
`flax.linen.Conv`), and the rule that picks the fastest one per shape.

Every lowering computes the same function (tested against `lax.conv_general_dilated`
within float32 tolerance) with different XLA programs:

  xla     `lax.conv_general_dilated` in NHWC / HWIO (what `flax.linen.Conv` emits).
  nchw    the same convolution with NCHW / OIHW dimension numbers (transposes around it).
  im2col  the k*k shifted (strided) views of the padded input stacked on a tap axis, then one
          contraction with the kernel: a matrix product (multi-threaded on XLA:CPU) instead
          of Eigen's convolution, which XLA:CPU runs on one thread below ~128 output channels.
  fft     stride-1 only: real FFTs of the padded input and the kernel, a per-frequency
          channel contraction, an inverse FFT; O(HW log HW) instead of O(HW k^2) per channel pair.
  winograd  3x3 stride 1 only: Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016):
          4x4 input tiles transformed by B^T d B, 16 independent channel products (2.25x fewer
          multiplies than the direct convolution, multi-threaded), outputs by A^T m A. Slower
          than xla at every shape measured on XLA:CPU (its tile transforms move 4x the input);
          a candidate, never chosen.

`jaxgen.nn.Conv` crops a kernel whose trailing rows are all zero (the causal masks of PixelCNN,
see `causal_mask`) to its nonzero rows for every lowering but the FFT, whose cost does not
depend on the kernel's size: the masked 7x7 convolution costs 4/7 of the dense one. `choose` encodes measurements of experiments/benchmarks/conv.py on XLA:CPU
(BENCHMARKS.md, "Convolution lowerings"); on GPU / TPU it always returns 'xla' (cuDNN and the
TPU convolution units are what XLA already calls).
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

LOWERINGS = ("xla", "nchw", "im2col", "fft", "winograd")
Padding = str | Sequence[tuple[int, int]]


def explicit_padding(in_hw: Sequence[int], kernel_hw: Sequence[int], strides: Sequence[int],
                     padding: Padding) -> list[tuple[int, int]]:
    """'SAME' / 'VALID' / explicit pairs -> [(lo, hi)] per spatial dimension, as XLA pads."""
    if isinstance(padding, str):
        return [tuple(p) for p in lax.padtype_to_pads(tuple(in_hw), tuple(kernel_hw), tuple(strides), padding.upper())]
    return [tuple(int(v) for v in p) for p in padding]


def causal_mask(kernel_hw: tuple[int, int], in_features: int, out_features: int, mask_type: str,
                channel_groups: int = 1) -> np.ndarray:
    """PixelCNN mask (van den Oord et al. 2016) of shape [kh, kw, in, out]: taps above the
    centre row and left of the centre in its row are kept; the centre tap is kept for 'B' and
    dropped for 'A'. With `channel_groups` > 1 (RGB), the centre tap also orders channel groups:
    output group g sees input groups < g ('A') or <= g ('B')."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    kh, kw = kernel_hw
    ci, cj = kh // 2, kw // 2
    mask = np.zeros((kh, kw, in_features, out_features), np.float32)
    mask[:ci] = 1.0
    mask[ci, :cj] = 1.0
    group_in = np.arange(in_features) * channel_groups // in_features
    group_out = np.arange(out_features) * channel_groups // out_features
    allowed = group_in[:, None] < group_out[None] if mask_type == "A" else group_in[:, None] <= group_out[None]
    mask[ci, cj] = allowed.astype(np.float32)
    return mask


def crop_zero_rows(kernel_rows: int, mask: np.ndarray | None) -> int:
    """Number of leading kernel rows that hold a nonzero mask entry (all rows without a mask)."""
    if mask is None:
        return kernel_rows
    nonzero = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    return int(nonzero[-1]) + 1 if nonzero.size else 1


def crop_rows(kernel: jax.Array, pads: list[tuple[int, int]], rows: int) -> tuple[jax.Array, list[tuple[int, int]]]:
    """kernel [kh, ...] cut to its first `rows` rows, and the bottom padding the cut rows read
    dropped: the same output size, and the same output when the cut rows are zero."""
    return kernel[:rows], [(pads[0][0], pads[0][1] - (kernel.shape[0] - rows)), *pads[1:]]


def _xla(x, kernel, strides, pads):
    return lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _nchw(x, kernel, strides, pads):
    y = lax.conv_general_dilated(jnp.transpose(x, (0, 3, 1, 2)), jnp.transpose(kernel, (3, 2, 0, 1)), strides, pads,
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return jnp.transpose(y, (0, 2, 3, 1))


def _output_size(padded: int, k: int, s: int) -> int:
    return (padded - k) // s + 1


def _im2col(x, kernel, strides, pads):
    kh, kw, cin, cout = kernel.shape
    xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    (sh, sw) = strides
    oh, ow = _output_size(xp.shape[1], kh, sh), _output_size(xp.shape[2], kw, sw)
    taps = [xp[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw, :] for i in range(kh) for j in range(kw)]
    patches = jnp.stack(taps, axis=3)  # [B, oh, ow, kh*kw, C]
    return jnp.einsum("bhwtc,tcd->bhwd", patches, kernel.reshape(kh * kw, cin, cout))


def fast_fft_size(n: int) -> int:
    """The smallest m >= n whose prime factors are 2, 3, 5 and 7 (FFTs of prime sizes are slow)."""
    m = n
    while True:
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def _fft(x, kernel, strides, pads):
    if tuple(strides) != (1, 1):
        raise ValueError(f"the fft lowering needs stride 1, got {tuple(strides)}")
    kh, kw = kernel.shape[:2]
    xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    hp, wp = xp.shape[1:3]
    # Cross-correlation = convolution with the flipped kernel. With any FFT size n >= hp, the
    # circular wrap-around only touches the first k-1 rows / columns of the result, which are
    # not part of the output.
    n = (fast_fft_size(hp), fast_fft_size(wp))
    xf = jnp.fft.rfft2(xp, s=n, axes=(1, 2))  # [B, n0, n1/2+1, C]
    kf = jnp.fft.rfft2(jnp.flip(kernel, (0, 1)), s=n, axes=(0, 1))  # [n0, n1/2+1, C, D]
    y = jnp.fft.irfft2(jnp.einsum("bhwc,hwcd->bhwd", xf, kf), s=n, axes=(1, 2))
    return y[:, kh - 1:hp, kw - 1:wp, :].astype(x.dtype)


# Winograd F(2, 3) transforms (Lavin & Gray 2016): input B^T, kernel G, output A^T.
_WINO_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]], np.float32)
_WINO_AT = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]], np.float32)


def _winograd_input(rows: list) -> list:
    """B^T applied along one axis to the 4 strided views d0..d3 of the tiles."""
    d0, d1, d2, d3 = rows
    return [d0 - d2, d1 + d2, d2 - d1, d1 - d3]


def _winograd(x, kernel, strides, pads):
    if tuple(strides) != (1, 1) or kernel.shape[:2] != (3, 3):
        raise ValueError(f"the winograd lowering needs a 3x3 kernel and stride 1, got {kernel.shape[:2]} "
                         f"and stride {tuple(strides)}")
    xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    oh, ow = xp.shape[1] - 2, xp.shape[2] - 2
    th, tw = -(-oh // 2), -(-ow // 2)  # 2x2 output tiles
    xp = jnp.pad(xp, ((0, 0), (0, 2 * th + 2 - xp.shape[1]), (0, 2 * tw + 2 - xp.shape[2]), (0, 0)))
    rows = _winograd_input([xp[:, k:k + 2 * th:2] for k in range(4)])  # 4 x [B, th, Wp, C]
    tiles = [v for r in rows for v in _winograd_input([r[:, :, k:k + 2 * tw:2] for k in range(4)])]
    v = jnp.stack(tiles)  # [16, B, th, tw, C], index 4a + b
    g = jnp.einsum("ai,ijcd,bj->abcd", _WINO_G, kernel, _WINO_G).reshape(16, *kernel.shape[2:])  # [16, C, D]
    m = jnp.einsum("tbhwc,tcd->tbhwd", v, g)  # [16, B, th, tw, D]
    out = jnp.einsum("pa,qb,abnhwd->nhpwqd", _WINO_AT, _WINO_AT, m.reshape(4, 4, *m.shape[1:]))
    b, d = x.shape[0], kernel.shape[-1]
    return out.reshape(b, 2 * th, 2 * tw, d)[:, :oh, :ow]


_IMPLS = {"xla": _xla, "nchw": _nchw, "im2col": _im2col, "fft": _fft, "winograd": _winograd}


def conv2d(x: jax.Array, kernel: jax.Array, strides: Sequence[int] = (1, 1), padding: Padding = "SAME",
           lowering: str = "xla") -> jax.Array:
    """Cross-correlation of x [B, H, W, C] with kernel [kh, kw, C, D] -> [B, H', W', D]
    by `lowering` (one of LOWERINGS); same value whichever lowering, up to float rounding."""
    if lowering not in _IMPLS:
        raise ValueError(f"unknown convolution lowering {lowering!r}; expected one of {LOWERINGS}")
    strides = tuple(int(s) for s in strides)
    pads = explicit_padding(x.shape[1:3], kernel.shape[:2], strides, padding)
    # negative padding crops the input (every lowering then pads with zeros only)
    x = x[:, max(0, -pads[0][0]):x.shape[1] - max(0, -pads[0][1]), max(0, -pads[1][0]):x.shape[2] - max(0, -pads[1][1])]
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    return _IMPLS[lowering](x, kernel, strides, pads)


def choose(batch: int, hw: tuple[int, int], in_features: int, out_features: int, kernel_hw: tuple[int, int],
           strides: tuple[int, int], platform: str | None = None) -> str:
    """The fastest lowering measured for this shape on XLA:CPU (see the module docstring)."""
    platform = platform or jax.default_backend()
    if platform != "cpu":
        return "xla"
    taps = kernel_hw[0] * kernel_hw[1]
    out_hw = [-(-n // s) for n, s in zip(hw, strides)]
    patch_bytes = 4 * batch * out_hw[0] * out_hw[1] * taps * in_features
    if out_features >= 16 and patch_bytes <= 32 * 2**20 and in_features * taps <= 512:
        # A short contraction over a small patch tensor: one multi-threaded product. Longer ones
        # won alone (the DCGAN's 2x2 256 -> 128 layer, 17 vs 19 ms) but lost inside the step.
        return "im2col"
    if strides == (1, 1) and taps >= 25 and min(hw) >= 14:
        return "fft"  # large kernels on large maps
    return "xla"
