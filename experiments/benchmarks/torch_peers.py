"""The networks of jaxgen's step benchmarks written as a PyTorch user would (PyTorch CPU, eager),
for the side-by-side rows of dcgan_step.py and vae_step.py. Needs the bench extra
(`pip install -e .[bench]`: torch==2.13.0, the CPU wheel).

Same layers, widths, losses and optimizers as the jaxgen configs named in each builder; where
PyTorch has its own idiom for the same function (a 4x4 stride-2 Conv2d with padding 1 for the
DCGAN discriminator's downsampling, PixelShuffle for depth_to_space) the idiom is used.

  python -m experiments.benchmarks.torch_peers dcgan 64 20 channels_last   # prints one JSON row
"""

import json
import os
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F


def _threads() -> int:
    return int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))


class _Generator(nn.Module):
    """dcgan.py:mnist G: z 100 -> 7x7x128 -> (3x3 conv, PixelShuffle) 14x14x64 -> 28x28x1, BN + ReLU, tanh."""

    def __init__(self, z=100, ch=(128, 64)):
        super().__init__()
        self.fc = nn.Linear(z, 7 * 7 * ch[0], bias=False)
        self.bn0 = nn.BatchNorm1d(7 * 7 * ch[0])
        self.up1 = nn.Conv2d(ch[0], 4 * ch[1], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch[1])
        self.up2 = nn.Conv2d(ch[1], 4, 3, padding=1)
        self.ch = ch

    def forward(self, z):
        x = F.relu(self.bn0(self.fc(z))).view(-1, self.ch[0], 7, 7)
        x = F.relu(self.bn1(F.pixel_shuffle(self.up1(x), 2)))
        return torch.tanh(F.pixel_shuffle(self.up2(x), 2))


class _Discriminator(nn.Module):
    """dcgan.py:mnist D: 4x4 stride-2 convolutions 64, 128 (BN on the second), LeakyReLU 0.2, linear."""

    def __init__(self, ch=(64, 128)):
        super().__init__()
        self.c1 = nn.Conv2d(1, ch[0], 4, 2, 1)
        self.c2 = nn.Conv2d(ch[0], ch[1], 4, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(ch[1])
        self.fc = nn.Linear(7 * 7 * ch[1], 1)

    def forward(self, x):
        x = F.leaky_relu(self.c1(x), 0.2)
        x = F.leaky_relu(self.bn(self.c2(x)), 0.2)
        return self.fc(x.flatten(1))[:, 0]


def dcgan_iteration(batch: int, layout: str):
    """One discriminator and one generator update (non-saturating loss, Adam(2e-4, 0.5)), then
    the generator's EMA (decay 0.999), as jaxgen's AdversarialStep with dcgan.py:mnist."""
    g, d = _Generator(), _Discriminator()
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    g, d = g.to(memory_format=fmt), d.to(memory_format=fmt)
    ema = [p.detach().clone() for p in g.parameters()]
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    real = (torch.rand(batch, 1, 28, 28) * 2 - 1).contiguous(memory_format=fmt)

    def step():
        fake = g(torch.randn(batch, 100))
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-d(g(torch.randn(batch, 100)))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            torch._foreach_lerp_(ema, [p.detach() for p in g.parameters()], 1 - 0.999)

    return step


class _VAE(nn.Module):
    """vae.py:mnist (mlp: 784-512-512-2x50, 50-512-512-784) or vae.py:mnist_conv (conv: 3x3
    stride-2 convolutions 32, 64, Dense to 2x32; Dense to 7x7x64, 3x3 conv + PixelShuffle to 64
    then 32 channels, 3x3 conv to 1), Bernoulli decoder, one reparameterised sample, analytic KL."""

    def __init__(self, arch: str):
        super().__init__()
        self.arch = arch
        if arch == "mlp":
            self.latent = 50
            self.enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                     nn.Linear(512, 100))
            self.dec = nn.Sequential(nn.Linear(50, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 784))
        else:
            self.latent = 32
            self.enc = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                                     nn.Flatten(), nn.Linear(7 * 7 * 64, 64))
            self.dec = nn.Sequential(nn.Linear(32, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                                     nn.Conv2d(64, 4 * 64, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
                                     nn.Conv2d(64, 4 * 32, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
                                     nn.Conv2d(32, 1, 3, padding=1))

    def forward(self, x):
        mean, log_var = self.enc(x).chunk(2, dim=-1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        logits = self.dec(z).reshape(x.shape)
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(-1)
        kl = 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum(-1)
        return (nll + kl).mean()


def vae_step(batch: int, arch: str, layout: str):
    """One Adam(1e-3) step on the negative ELBO of a batch of binary images."""
    model = _VAE(arch)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = (torch.rand(batch, 1, 28, 28) < 0.3).float().contiguous(memory_format=fmt)

    def step():
        loss = model(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def time_steps(step, steps: int) -> float:
    """steps/s of `step` over `steps` calls after three warm-up calls."""
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    kind, batch, steps, layout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    arch = sys.argv[5] if len(sys.argv) > 5 else ""
    torch.set_num_threads(_threads())
    torch.manual_seed(0)
    step = dcgan_iteration(batch, layout) if kind == "dcgan" else vae_step(batch, arch, layout)
    rate = time_steps(step, steps)
    print(json.dumps({"framework": f"PyTorch {torch.__version__} ({layout})", "batch": batch, "steps_per_s": rate,
                      "examples_per_s": rate * batch, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
