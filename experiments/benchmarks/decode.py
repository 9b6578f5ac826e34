"""Decoding speed of the transformer language model: tokens per second of cached decoding (KV
cache, one compiled scan) against recomputation (the whole prefix rerun for every new token),
and of the same network in PyTorch (CPU, eager: with a KV cache and recomputing, as nanoGPT's
`generate` does), all with the same weights in one run.

  python -m experiments.benchmarks.decode --config experiments/configs/transformer_lm.py:shakespeare_char \\
      --new 256 --batch 1,8 --out runs/decode_bench

The network is the config's (vocabulary from --vocab, positions up to prompt + new); weights are
random unless --run names a trained run of the same architecture. Before timing, greedy decoding
in JAX and in PyTorch must return the same tokens (the port is checked, not assumed). Writes
OUT/decode.json and decode.md.
"""

import argparse
import importlib
import json
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.nn.transformer import TransformerLM
from jaxgen.run import evaluate as evaluate_lib
from jaxgen.sampling import decoding


def load_config(spec: str):
    path, _, variant = spec.partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return module.get_config(variant or None)


def torch_model(params, m, vocab: int, max_len: int):
    """The same pre-LN GPT in PyTorch, weights copied from the Flax params."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    heads, width = m.heads, m.width
    hd = width // heads
    t = lambda a: torch.tensor(np.asarray(a, np.float32))

    class Block(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width, eps=1e-6), nn.LayerNorm(width, eps=1e-6)
            for ln, name in ((self.ln1, "ln_self"), (self.ln2, "ln_mlp")):
                ln.weight.data, ln.bias.data = t(p[name]["scale"]), t(p[name]["bias"])
            a = p["self_attention"]
            self.qkv_w = torch.cat([t(a[n]["kernel"]).reshape(width, width) for n in ("query", "key", "value")], 1)
            self.qkv_b = torch.cat([t(a[n]["bias"]).reshape(width) for n in ("query", "key", "value")])
            self.out_w, self.out_b = t(a["out"]["kernel"]).reshape(width, width), t(a["out"]["bias"])
            d0, d1 = p["mlp"]["Dense_0"], p["mlp"]["Dense_1"]
            self.fc1_w, self.fc1_b, self.fc2_w, self.fc2_b = t(d0["kernel"]), t(d0["bias"]), t(d1["kernel"]), t(d1["bias"])

        def forward(self, x, cache, start):
            b, n, _ = x.shape
            q, k, v = (self.ln1(x) @ self.qkv_w + self.qkv_b).split(width, -1)
            q, k, v = (z.view(b, n, heads, hd).transpose(1, 2) for z in (q, k, v))  # [B, H, n, hd]
            if cache is not None:
                cache[0][:, :, start:start + n], cache[1][:, :, start:start + n] = k, v
                k, v = cache[0][:, :, :start + n], cache[1][:, :, :start + n]
            # a prompt (n > 1, from position 0) is causal; one new token attends to every cached key
            y = F.scaled_dot_product_attention(q, k, v, is_causal=n > 1)
            x = x + y.transpose(1, 2).reshape(b, n, width) @ self.out_w + self.out_b
            h = F.gelu(self.ln2(x) @ self.fc1_w + self.fc1_b, approximate="tanh")
            return x + h @ self.fc2_w + self.fc2_b

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            e = params["params"]["embedding"]
            self.embed, self.pos = t(e["embed"]["embedding"]), t(e["pos"])
            self.blocks = nn.ModuleList([Block(params["params"][f"block{i}"]) for i in range(m.depth)])
            self.lnf = nn.LayerNorm(width, eps=1e-6)
            self.lnf.weight.data, self.lnf.bias.data = t(params["params"]["ln_final"]["scale"]), t(
                params["params"]["ln_final"]["bias"])

        def forward(self, tokens, caches=None, start=0):
            x = self.embed[tokens] + self.pos[start:start + tokens.shape[1]]
            for i, blk in enumerate(self.blocks):
                x = blk(x, None if caches is None else caches[i], start)
            return self.lnf(x) @ self.embed.T

    def generate(model, prompt, new, cached):
        tokens = prompt
        b, p = prompt.shape
        if cached:
            caches = [(torch.zeros(b, heads, max_len, hd), torch.zeros(b, heads, max_len, hd)) for _ in range(m.depth)]
            logits = model(prompt, caches, 0)
            for i in range(new):
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                tokens = torch.cat([tokens, nxt], 1)
                if i + 1 < new:
                    logits = model(nxt, caches, p + i)
        else:
            for _ in range(new):
                nxt = model(tokens)[:, -1].argmax(-1, keepdim=True)
                tokens = torch.cat([tokens, nxt], 1)
        return tokens

    return GPT().eval(), generate


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="experiments/configs/transformer_lm.py:shakespeare_char")
    p.add_argument("--run", help="a trained run whose params to decode with (else random weights)")
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--prompt", type=int, default=16)
    p.add_argument("--new", type=int, default=256)
    p.add_argument("--batch", default="1,8")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no_torch", action="store_true")
    p.add_argument("--out", default="runs/decode_bench")
    args = p.parse_args(argv)
    config = load_config(args.config)
    m = config.model
    if m.arch != "transformer":
        raise SystemExit(f"--config: arch {m.arch!r}; this benchmark decodes the transformer")
    max_len = args.prompt + args.new
    net = TransformerLM(args.vocab, m.width, m.depth, m.heads, max_len, "learned", True, m.mlp_ratio, 0.0)
    params = net.init(jax.random.key(0), jnp.zeros((1, 8), jnp.int32))
    if args.run:
        _, _, trained = evaluate_lib.load_run(args.run)
        pos = trained["params"]["embedding"]["pos"]
        params = jax.tree.map(lambda a: a, trained)
        params["params"]["embedding"]["pos"] = jnp.zeros((max_len, m.width)).at[:pos.shape[0]].set(pos)
    step = lambda tokens, positions, state: net.apply(params, tokens, positions, state)
    forward = lambda buf: net.apply(params, buf)[0]
    rows = []
    os.makedirs(args.out, exist_ok=True)
    for b in [int(x) for x in args.batch.split(",")]:
        prompt = jax.random.randint(jax.random.key(b), (b, args.prompt), 0, args.vocab)
        fns = {
            "jax, KV cache": jax.jit(lambda pr, b=b: decoding.generate(step, net.init_state(b), pr, args.new,
                                                                       jax.random.key(1), greedy=True)),
            "jax, recompute": jax.jit(lambda pr: decoding.generate_uncached(forward, pr, args.new, jax.random.key(1),
                                                                            greedy=True)),
        }
        outs = {}
        for name, fn in fns.items():
            t0 = time.perf_counter()
            outs[name] = np.asarray(fn(prompt))  # compile + first run
            compile_s = time.perf_counter() - t0
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                jax.block_until_ready(fn(prompt))
                times.append(time.perf_counter() - t0)
            rows.append({"impl": name, "batch": b, "new": args.new, "seconds": min(times), "compile_seconds": compile_s,
                         "tokens_per_s": b * args.new / min(times)})
            print(json.dumps(rows[-1]), flush=True)
        assert (outs["jax, KV cache"] == outs["jax, recompute"]).all(), "cached and recomputed decoding differ"
        if not args.no_torch:
            import torch

            torch.set_num_threads(os.cpu_count() or 1)
            model, generate = torch_model(params, m, args.vocab, max_len)
            tp = torch.tensor(np.asarray(prompt), dtype=torch.long)
            for cached in (True, False):
                name = f"pytorch {torch.__version__}, {'KV cache' if cached else 'recompute'}"
                with torch.inference_mode():
                    got = generate(model, tp, args.new, cached).numpy()
                    agree = float((got == outs["jax, KV cache"]).mean())
                    times = []
                    for _ in range(args.repeats):
                        t0 = time.perf_counter()
                        generate(model, tp, args.new, cached)
                        times.append(time.perf_counter() - t0)
                rows.append({"impl": name, "batch": b, "new": args.new, "seconds": min(times),
                             "tokens_per_s": b * args.new / min(times), "greedy_tokens_equal_to_jax": agree})
                print(json.dumps(rows[-1]), flush=True)
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "jax": jax.__version__,
            "date": time.strftime("%Y-%m-%d"), "config": args.config, "prompt": args.prompt,
            "params": int(sum(np.size(x) for x in jax.tree.leaves(params)))}
    with open(os.path.join(args.out, "decode.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=2)
    lines = ["| implementation | batch | new tokens | tokens/s | s |", "|---|---|---|---|---|"]
    lines += [f"| {r['impl']} | {r['batch']} | {r['new']} | {r['tokens_per_s']:.0f} | {r['seconds']:.2f} |" for r in rows]
    with open(os.path.join(args.out, "decode.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
