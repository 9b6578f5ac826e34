"""Forward + backward time of every convolution shape jaxgen uses (and the PixelCNN, flow and
U-Net shapes it will use), for every candidate lowering, beside PyTorch CPU in the same run;
and the dense products of the MLP VAE at batch 1024, XLA's dot vs PyTorch's BLAS.

  python -m experiments.benchmarks.conv --out runs/bench/conv.jsonl

Candidates per shape (jaxgen.nn.lowering): xla (flax.linen.Conv as is), nchw, im2col (stacked
shifted views + one contraction), fft (stride 1), winograd (3x3 stride 1, by --lowerings), bf16 (xla in bfloat16; its relative error
against float32 is reported), the 'auto' choice jaxgen.nn.Conv makes, and for masked shapes
the dense masked kernel vs the cropped one. XLA:CPU flag sets run the xla lowering in their own
process (flags are read once per process). PyTorch 2.13 CPU (`pip install -e .[bench]`) runs
NCHW and channels_last. Time: median wall time of fwd + grad w.r.t. input and kernel, after
compilation, with 2 intra-op threads on both sides. Prints a Markdown table; --out appends JSONL.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# name, batch, (h, w), in, out, kernel, stride, mask ('' / 'A' / 'B'), where it is used
SHAPES = [
    ("dcgan G 7x7 128->256 (sub-pixel up)", 64, (7, 7), 128, 256, 3, 1, "", "dcgan.py:mnist G"),
    ("dcgan G 14x14 64->4 (sub-pixel out)", 64, (14, 14), 64, 4, 3, 1, "", "dcgan.py:mnist G"),
    ("dcgan D 14x14 4->64 2x2 (space-to-depth)", 64, (14, 14), 4, 64, 2, 1, "", "dcgan.py:mnist D"),
    ("dcgan D 7x7 256->128 2x2 (space-to-depth)", 64, (7, 7), 256, 128, 2, 1, "", "dcgan.py:mnist D"),
    ("D 28x28 1->64 4x4 s2", 64, (28, 28), 1, 64, 4, 2, "", "downsample=strided, pix2pix"),
    ("D 14x14 64->128 4x4 s2", 64, (14, 14), 64, 128, 4, 2, "", "downsample=strided, pix2pix"),
    ("vae enc 28x28 1->32 3x3 s2", 128, (28, 28), 1, 32, 3, 2, "", "vae.py:mnist_conv"),
    ("vae enc 14x14 32->64 3x3 s2", 128, (14, 14), 32, 64, 3, 2, "", "vae.py:mnist_conv"),
    ("vae dec 7x7 64->256 3x3", 128, (7, 7), 64, 256, 3, 1, "", "vae.py:mnist_conv"),
    ("vae dec 14x14 64->128 3x3", 128, (14, 14), 64, 128, 3, 1, "", "vae.py:mnist_conv"),
    ("vae dec 28x28 32->1 3x3", 128, (28, 28), 32, 1, 3, 1, "", "vae.py:mnist_conv"),
    ("pixelcnn 28x28 1->64 7x7 mask A", 32, (28, 28), 1, 64, 7, 1, "A", "PixelCNN input layer"),
    ("pixelcnn 28x28 64->64 7x7 mask B", 32, (28, 28), 64, 64, 7, 1, "B", "PixelCNN / gated stack"),
    ("28x28 64->64 3x3", 128, (28, 28), 64, 64, 3, 1, "", "PixelCNN body, U-Net 28x28"),
    ("28x28 32->32 3x3 b256", 256, (28, 28), 32, 32, 3, 1, "", "flow coupling nets"),
    ("14x14 128->128 3x3", 128, (14, 14), 128, 128, 3, 1, "", "U-Net 14x14"),
    ("7x7 256->256 3x3", 128, (7, 7), 256, 256, 3, 1, "", "U-Net 7x7"),
]
DENSE = [  # MLP VAE 784-512-512-(2x50) / 50-512-512-784 at batch 1024
    ("dense 1024x784 -> 512", 1024, 784, 512),
    ("dense 1024x512 -> 512", 1024, 512, 512),
    ("dense 1024x512 -> 100", 1024, 512, 100),
    ("dense 1024x50 -> 512", 1024, 50, 512),
    ("dense 1024x512 -> 784", 1024, 512, 784),
]
FLAG_SETS = {  # label -> XLA_FLAGS, each run on the xla lowering in its own process
    "xla+eigen_single_thread": "--xla_cpu_multi_thread_eigen=false",
    "xla+onednn": "--xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_fusion_type=individual_convolution",
    "xla+xnnpack": "--xla_cpu_use_xnnpack=true --xla_cpu_experimental_xnn_fusion_type=individual_convolution,individual_dot",
    "xla+ynnpack": "--xla_cpu_experimental_ynn_fusion_type=individual_convolution,individual_dot",
}


def _median_ms(fn, min_seconds: float) -> tuple[float, float]:
    """(median wall ms per call, process CPU seconds per wall second over the calls)."""
    fn()
    times = []
    start, cpu = time.perf_counter(), os.times()
    while len(times) < 3 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    now = os.times()
    busy = (now.user + now.system - cpu.user - cpu.system) / (time.perf_counter() - start)
    return statistics.median(times) * 1e3, busy


def _jax_candidates(lowerings: list[str], b, hw, cin, cout, k, s, rows: int) -> list[tuple[str, dict]]:
    """(label, loss options) per candidate; `rows`: the kernel rows a mask keeps (k: no mask)."""
    from jaxgen.nn import lowering as lowering_lib

    masked = rows < k
    out = []
    for low in lowerings:
        if low == "auto":  # jaxgen.nn.Conv itself, labelled with the lowering it picks
            out.append(("auto=" + lowering_lib.choose(b, hw, cin, cout, (rows, k), (s, s)), {"low": "auto"}))
        elif low == "bf16":
            out.append(("bf16", {"low": "xla", "bf16": True}))
        elif (low != "fft" or s == 1) and (low != "winograd" or (s == 1 and k == 3)):
            out.append((low, {"low": low}))
            if masked:
                out.append((low + " cropped", {"low": low, "crop": True}))
    return out


def _time_jax_shape(lowerings: list[str], min_seconds: float, name, b, hw, cin, cout, k, s, mask) -> list[dict]:
    import jax
    import jax.numpy as jnp

    from jaxgen.nn import Conv
    from jaxgen.nn import lowering as lowering_lib

    x = jax.random.normal(jax.random.key(0), (b, *hw, cin))
    w = jax.random.normal(jax.random.key(1), (k, k, cin, cout)) / (k * k * cin) ** 0.5
    m = lowering_lib.causal_mask((k, k), cin, cout, mask) if mask else None
    rows_kept = lowering_lib.crop_zero_rows(k, m)
    pads = lowering_lib.explicit_padding(hw, (k, k), (s, s), "SAME")
    layer = Conv(cout, (k, k), strides=s, use_bias=False, mask_type=mask or None)

    def loss(x, w, low, bf16=False, crop=False):
        if low == "auto":
            return jnp.sum(layer.apply({"params": {"kernel": w}}, x) ** 2)
        kernel = w if m is None else w * m
        p = pads
        if crop:
            kernel, p = lowering_lib.crop_rows(kernel, pads, rows_kept)
        dtype = jnp.bfloat16 if bf16 else jnp.float32
        y = lowering_lib.conv2d(x.astype(dtype), kernel.astype(dtype), (s, s), p, low)
        return jnp.sum(y.astype(jnp.float32) ** 2)

    ref = jax.jit(jax.grad(lambda x, w: loss(x, w, "xla"), (0, 1)))(x, w)
    rows = []
    for label, kw in _jax_candidates(lowerings, b, hw, cin, cout, k, s, rows_kept):
        grad = jax.jit(jax.grad(lambda x, w, kw=kw: loss(x, w, **kw), (0, 1)))
        t0 = time.perf_counter()
        got = jax.block_until_ready(grad(x, w))
        compile_s = time.perf_counter() - t0
        err = max(float(jnp.max(jnp.abs(a - r)) / jnp.max(jnp.abs(r))) for a, r in zip(got, ref))
        ms, busy = _median_ms(lambda grad=grad: jax.block_until_ready(grad(x, w)), min_seconds)
        rows.append({"shape": name, "candidate": label, "ms": ms, "threads_busy": busy, "rel_err": err,
                     "compile_s": compile_s})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def jax_worker(lowerings: list[str], min_seconds: float, shapes: str) -> list[dict]:
    import jax
    import jax.numpy as jnp

    rows = []
    for name, b, hw, cin, cout, k, s, mask, _ in SHAPES:
        if not shapes or shapes in name:
            rows += _time_jax_shape(lowerings, min_seconds, name, b, hw, cin, cout, k, s, mask)
    for name, b, din, dout in DENSE:
        if shapes and shapes not in name:
            continue
        x = jax.random.normal(jax.random.key(0), (b, din))
        w = jax.random.normal(jax.random.key(1), (din, dout)) / din**0.5
        grad = jax.jit(jax.grad(lambda x, w: jnp.sum(jnp.maximum(x @ w, 0.0) ** 2), (0, 1)))
        ms, busy = _median_ms(lambda grad=grad, x=x, w=w: jax.block_until_ready(grad(x, w)), min_seconds)
        rows.append({"shape": name, "candidate": "xla dot", "ms": ms, "threads_busy": busy, "rel_err": 0.0,
                     "compile_s": 0.0})
    return rows


def _torch_conv_step(b, h, w_, cin, cout, k, s, mask, layout):
    import torch
    import torch.nn.functional as F

    x = torch.randn(b, cin, h, w_)
    w = torch.randn(cout, cin, k, k) / (k * k * cin) ** 0.5
    mk = None
    if mask:  # the usual PyTorch PixelCNN: the kernel multiplied by its mask on every call
        mk = torch.ones_like(w)
        mk[:, :, k // 2, k // 2 + (mask == "B"):] = 0
        mk[:, :, k // 2 + 1:] = 0
    if layout == "channels_last":
        x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    w.requires_grad_(True)
    total = max(k - s, 0) if s > 1 else k - 1  # XLA's SAME padding, as (lo, hi)
    lo, hi = total // 2, total - total // 2

    def step():
        kernel = w * mk if mk is not None else w
        y = F.conv2d(F.pad(x, (lo, hi, lo, hi)), kernel, stride=s)
        (y**2).sum().backward()
        x.grad = w.grad = None

    return step


def _torch_dense_step(b, din, dout):
    import torch

    x = torch.randn(b, din, requires_grad=True)
    w = (torch.randn(din, dout) / din**0.5).requires_grad_(True)

    def step():
        (torch.relu(x @ w) ** 2).sum().backward()
        x.grad = w.grad = None

    return step


def torch_worker(min_seconds: float, shapes: str) -> list[dict]:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    rows = []
    for name, b, (h, w_), cin, cout, k, s, mask, _ in SHAPES:
        if shapes and shapes not in name:
            continue
        for layout in ("NCHW", "channels_last"):
            step = _torch_conv_step(b, h, w_, cin, cout, k, s, mask, layout)
            ms, busy = _median_ms(step, min_seconds)
            rows.append({"shape": name, "candidate": f"torch {layout}", "ms": ms, "threads_busy": busy})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    for name, b, din, dout in DENSE:
        if not shapes or shapes in name:
            ms, busy = _median_ms(_torch_dense_step(b, din, dout), min_seconds)
            rows.append({"shape": name, "candidate": "torch BLAS", "ms": ms, "threads_busy": busy})
    return rows


def _run_worker(args: list[str], xla_flags: str = "") -> list[dict]:
    env = dict(os.environ, XLA_FLAGS=xla_flags, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-m", "experiments.benchmarks.conv", *args], env=env, text=True,
                         stdout=subprocess.PIPE, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lowerings", default="xla,nchw,im2col,fft,bf16,auto")
    parser.add_argument("--flag_sets", default=",".join(FLAG_SETS), help="XLA:CPU flag sets ('' for none)")
    parser.add_argument("--no_torch", action="store_true")
    parser.add_argument("--min_seconds", type=float, default=1.0, help="timing window per candidate")
    parser.add_argument("--shapes", default="", help="only the shapes whose name contains this")
    parser.add_argument("--out", default="", help="append the rows as JSONL here")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "jax":
        print(json.dumps(jax_worker(args.lowerings.split(","), args.min_seconds, args.shapes)))
        return
    if args.worker == "torch":
        print(json.dumps(torch_worker(args.min_seconds, args.shapes)))
        return
    common = ["--min_seconds", str(args.min_seconds), "--shapes", args.shapes]
    stamp = time.strftime("%Y-%m-%d %H:%M")

    def keep(new: list[dict]) -> list[dict]:  # appended as each process finishes
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "a") as f:
                f.writelines(json.dumps({"date": stamp, **r}) + "\n" for r in new)
        return new

    rows = keep(_run_worker(["--worker", "jax", "--lowerings", args.lowerings, *common]))
    for label in filter(None, args.flag_sets.split(",")):
        rows += keep([{**r, "candidate": label}
                      for r in _run_worker(["--worker", "jax", "--lowerings", "xla", *common], FLAG_SETS[label])])
    if not args.no_torch:
        rows += keep(_run_worker(["--worker", "torch", *common]))
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    """One line per shape: every candidate's ms, the fastest jaxgen one, PyTorch's best, ratio."""
    names = [s[0] for s in SHAPES] + [d[0] for d in DENSE]
    print("| shape | candidates, fwd+bwd ms (relative error vs xla) | jaxgen auto / best | PyTorch best | "
          "PyTorch / jaxgen auto | cores busy: xla / PyTorch |")
    print("|---|---|---|---|---|---|")
    for name in names:
        mine = [r for r in rows if r["shape"] == name and not r["candidate"].startswith("torch")]
        theirs = [r for r in rows if r["shape"] == name and r["candidate"].startswith("torch")]
        if not mine:
            continue
        cells = ", ".join(f"{r['candidate']} {r['ms']:.1f}" + (f" ({r['rel_err']:.0e})" if r.get("rel_err", 0) > 1e-5 else "")
                          for r in mine)
        auto = next((r for r in mine if r["candidate"].startswith("auto") or r["candidate"] == "xla dot"), mine[0])
        best = min(mine, key=lambda r: r["ms"] if r["candidate"] != "bf16" else float("inf"))
        torch_best = min(theirs, key=lambda r: r["ms"]) if theirs else None
        ratio = f"{torch_best['ms'] / auto['ms']:.2f}x" if torch_best else "-"
        torch_cell = f"{torch_best['ms']:.1f} ({torch_best['candidate'][6:]})" if torch_best else "-"
        xla = next((r for r in mine if r["candidate"] in ("xla", "xla dot")), auto)
        busy = f"{xla.get('threads_busy', 0):.1f} / " + (f"{torch_best.get('threads_busy', 0):.1f}" if torch_best else "-")
        print(f"| {name} | {cells} | {auto['ms']:.1f} / {best['ms']:.1f} ({best['candidate']}) | {torch_cell} | {ratio} "
              f"| {busy} |")


if __name__ == "__main__":
    main()
