"""The cross-family leaderboard: every family with a leaderboard config, one protocol.

  python -m experiments.leaderboard --dataset digits --workdir runs/leaderboard_digits
  python -m experiments.leaderboard --dataset mnist --workdir runs/leaderboard_mnist --budget 600
  python -m experiments.leaderboard --dataset tiny_shakespeare   # language models, nats per character

Trains (or reuses the finished workdirs of) every entry below through the run shell, evaluates
them under the likelihood protocol and against the in-repo feature net, and writes
leaderboard.md, leaderboard.html (sample grids inline) and leaderboard.json in the workdir.
Rerunning resumes: finished entries are read back, unfinished ones resume or start.
`--families vae,rbm` keeps the entries of those families; `--budget MINUTES` starts no new
entry after that many minutes (the ones left are listed as not run).
"""

import argparse
import importlib
import sys

from experiments import overrides
from jaxgen.run import USER_ERRORS, compile_cache
from jaxgen.run.leaderboard import Entry, run


def _entry(label: str, module: str, variant: str, changes: dict | None = None) -> Entry:
    """`experiments/configs/MODULE.py:VARIANT` with `changes` ({dotted key: value}) applied."""
    def config():
        c = importlib.import_module(f"experiments.configs.{module}").get_config(variant)
        return overrides.apply(c, changes) if changes else c

    return Entry(label, config)


# dataset -> (the entries, the feature net's classifier config, samples per sample metric)
BOARDS = {
    "digits": ([
        _entry("VAE (binarised)", "vae", "digits_binary"),
        _entry("beta-VAE (beta = 4)", "vae", "digits_binary", {"model.beta": 4.0}),
        _entry("VAE trained on IWAE (k = 5)", "vae", "digits_binary", {"model.iwae_samples": 5}),
        _entry("conditional VAE", "vae", "digits_binary", {"model.conditional": True}),
        _entry("Hierarchical VAE", "hvae", "digits_binary"),
        _entry("PixelCNN", "pixelcnn", "digits_binary"),
        _entry("Gated PixelCNN", "pixelcnn", "digits_gated"),
        _entry("PixelRNN (Row LSTM)", "pixelrnn", "digits_binary"),
        _entry("PixelRNN (Diagonal BiLSTM)", "pixelrnn", "digits_diagonal"),
        _entry("RBM (CD-1)", "rbm", "digits"),
        _entry("RBM (PCD-1)", "rbm", "digits_pcd"),
        _entry("DBN", "dbn", "digits"),
        _entry("DBM", "dbm", "digits"),
        _entry("Mixture of Bernoullis", "bernoulli_mixture", "digits"),
        _entry("VAE (17 levels)", "vae", "digits"),
        _entry("PixelCNN++ output (17 levels)", "pixelcnn", "digits"),
        _entry("RealNVP (17 levels)", "realnvp", "digits"),
        _entry("Glow (17 levels)", "glow", "digits"),
        _entry("DDPM (17 levels)", "ddpm", "digits"),
        _entry("GMM", "gmm", "digits"),
        _entry("PPCA", "ppca", "digits"),
        _entry("KDE", "kde", "digits"),
        _entry("HMM (rows)", "hmm", "digits"),
        _entry("DCGAN", "dcgan", "digits"),
        _entry("conditional DCGAN", "cgan", "digits"),
        _entry("AAE", "aae", "digits"),
        _entry("autoencoder (random codes)", "ae", "digits"),
        _entry("denoising AE (masking, random codes)", "dae", "digits_masking"),
    ], _entry("feature net", "classifier", "digits"), 297),
    "mnist": ([
        _entry("VAE (binarised)", "vae", "mnist"),
        # the VAE family's members at a third of the VAE's 60,000 steps (each ~5-10 min of CPU)
        _entry("beta-VAE (beta = 4, 20k steps)", "vae", "mnist_beta4", {"train.num_steps": 20_000}),
        _entry("VAE trained on IWAE (k = 5, 20k steps)", "vae", "mnist_iwae", {"train.num_steps": 20_000}),
        _entry("conditional VAE (20k steps)", "vae", "mnist_cvae", {"train.num_steps": 20_000}),
        _entry("VAE, 2-D latent (20k steps)", "vae", "mnist_2d", {"train.num_steps": 20_000}),
        _entry("Hierarchical VAE", "hvae", "mnist"),
        _entry("Gated PixelCNN", "pixelcnn", "mnist_gated"),
        # 8-bit MNIST, the exact discrete likelihood of the 256 levels (a short run)
        _entry("PixelCNN++ output (8-bit, 1k steps)", "pixelcnn", "mnist_8bit", {"train.num_steps": 1_000}),
        # glow.py:mnist at 1,500 of its 2,700 steps (24 min), the discrete bound from k = 4 draws of u
        _entry("Glow (8-bit, 1.5k steps)", "glow", "mnist",
               {"train.num_steps": 1_500, "model.final_dequantization_samples": 4, "eval.every_steps": 0}),
        # ddpm.py:mnist (45 min); its 10,000 samples for FID drawn with 20 DDIM steps (~20 min of CPU)
        _entry("DDPM (8-bit, DDIM 20 steps)", "ddpm", "mnist", {"model.sampler_steps": 20}),
        _entry("RBM (CD-1)", "rbm", "mnist"),
        _entry("RBM (PCD-1)", "rbm", "mnist_pcd"),
        _entry("DBN", "dbn", "mnist"),
        _entry("DBM", "dbm", "mnist"),
        _entry("Mixture of Bernoullis", "bernoulli_mixture", "mnist"),
        _entry("GMM", "gmm", "mnist"),
        _entry("PPCA", "ppca", "mnist"),
        _entry("KDE", "kde", "mnist"),
        _entry("DCGAN", "dcgan", "mnist"),
        _entry("AAE", "aae", "mnist"),
        _entry("autoencoder (random codes)", "ae", "mnist"),
        _entry("denoising AE (masking, random codes)", "dae", "mnist_masking"),
        _entry("PixelCNN", "pixelcnn", "mnist"),
        _entry("PixelRNN (Row LSTM)", "pixelrnn", "mnist"),
        # the DCGAN entry's networks and length with the least-squares loss: a second GAN loss of
        # the zoo at the DCGAN's cost (gan.py's own MNIST runs, G 256-128 for 6,000 steps, take
        # ~80 min of 2-core CPU)
        _entry("GAN (least squares)", "gan", "mnist_lsgan", {"model.g_channels": (128, 64), "train.num_steps": 3_000}),
    ], _entry("feature net", "classifier", "mnist"), 10_000),
    # text: nats per character of the validation split, whatever the tokenizer; no sample metrics.
    # One budget for every entry: the same wall clock (~11 min at the rates the configs name, 20-26
    # min on the slower CPU of the README's board; the configs' full ~45-min runs are in the README),
    # so BPE, 2.3x as many steps a second, runs twice the steps.
    "tiny_shakespeare": ([
        _entry("transformer (characters, 1k steps)", "transformer_lm", "shakespeare_char", {"train.num_steps": 1_000}),
        _entry("transformer (BPE, 512 tokens, 2k steps)", "transformer_lm", "shakespeare_bpe",
               {"train.num_steps": 2_000}),
        _entry("LSTM (characters, 1k steps)", "lstm_lm", "shakespeare_char", {"train.num_steps": 1_000}),
        _entry("GRU (characters, 1k steps)", "lstm_lm", "gru_shakespeare", {"train.num_steps": 1_000}),
    ], None, 0),
}
# The same layout on each family's smoke config (tests).
BOARDS["smoke"] = ([
    _entry("VAE", "vae", "smoke"), _entry("RBM", "rbm", "smoke"), _entry("RBM PCD", "rbm", "smoke_pcd"),
    _entry("DBN", "dbn", "smoke"), _entry("DBM", "dbm", "smoke"), _entry("Bernoulli mixture", "bernoulli_mixture", "smoke"),
    _entry("GMM", "gmm", "smoke"), _entry("PPCA", "ppca", "smoke"), _entry("KDE", "kde", "smoke"),
    _entry("DCGAN", "dcgan", "smoke"), _entry("AAE", "aae", "smoke"), _entry("Hierarchical VAE", "hvae", "smoke"),
    _entry("PixelCNN", "pixelcnn", "smoke"), _entry("Gated PixelCNN", "pixelcnn", "smoke_gated"),
    _entry("autoencoder", "ae", "smoke"), _entry("Glow", "glow", "smoke"),
], _entry("feature net", "classifier", "smoke"), 100)
DATA = {"digits": "digits", "mnist": "mnist", "smoke": "digits", "tiny_shakespeare": "tiny_shakespeare"}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True, choices=sorted(BOARDS))
    p.add_argument("--workdir", help="default runs/leaderboard_DATASET")
    p.add_argument("--families", default="", help="comma-separated family names to keep (default: all)")
    p.add_argument("--budget", type=float, default=0.0, help="minutes after which no new entry starts (0: none)")
    p.add_argument("--no_progress", action="store_true")
    p.add_argument("--compilation_cache", help=compile_cache.HELP)
    args = p.parse_args(argv)
    compile_cache.enable(args.compilation_cache)
    entries, feature_net, num_samples = BOARDS[args.dataset]
    if args.families:
        keep = {f.strip() for f in args.families.split(",") if f.strip()}
        known = {e.config().family for e in entries}
        if keep - known:
            p.error(f"--families: {sorted(keep - known)} have no {args.dataset} leaderboard entry; known: {sorted(known)}")
        entries = [e for e in entries if e.config().family in keep]
    try:
        paths = run(f"jaxgen leaderboard: {args.dataset}", entries, args.workdir or f"runs/leaderboard_{args.dataset}",
                    feature_net, DATA[args.dataset], num_samples, args.budget, not args.no_progress)
    except USER_ERRORS as err:
        sys.exit(f"error: {err}")
    with open(paths["md"]) as f:
        print(f.read())
    print("Written: " + ", ".join(paths.values()))


if __name__ == "__main__":
    main()
