"""Train the built-in encoder: a beta-VAE on three-dots, shipped as TorchScript.

    python scripts/train_threedots_encoder.py [--steps N] [--out disbench/models/threedots_vae.pt]

The encoder is disentanglement_lib's convolutional encoder for 64x64 images
(``disbench.models.conv.ConvEncoder``, 10 latents); the decoder mirrors it. The loss is
disentanglement_lib's beta-VAE loss: Bernoulli reconstruction log-likelihood summed over
pixels plus beta times the KL divergence to N(0, I), with beta = 4 reached by a linear
warm-up over the first half of the steps (without it the posterior collapses: the dots are
small and a blank image is a cheap first reconstruction). 2,500 steps of batches of 64,
rendered afresh each step from uniformly drawn factor rows (seeded), Adam with learning
rate 1e-3: about 6 minutes on 2 CPU cores. Only the encoder is saved, scripted,
returning (mean, log-variance).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from disbench.benchmark.datasets.threedots import ThreeDots
from disbench.models.conv import ConvEncoder

LATENTS = 10


class Decoder(nn.Module):
    def __init__(self, channels: int = 1, latents: int = LATENTS) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(latents, 256),
            nn.ReLU(),
            nn.Linear(256, 64 * 4 * 4),
            nn.ReLU(),
            nn.Unflatten(1, (64, 4, 4)),
            nn.ConvTranspose2d(64, 64, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, channels, 4, stride=2, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beta", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--warmup", type=float, default=0.5, help="fraction of the steps over which beta grows"
    )
    parser.add_argument("--out", type=Path, default=Path("disbench/models/threedots_vae.pt"))
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = ThreeDots()
    encoder, decoder = ConvEncoder(channels=1, latents=LATENTS), Decoder()
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        x = torch.from_numpy(data.observations(data.sample_factors(args.batch_size, rng)))
        mean, log_var = encoder(x)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        logits = decoder(z)
        reconstruction = nn.functional.binary_cross_entropy_with_logits(
            logits, x, reduction="sum"
        ) / len(x)
        kl = 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1).sum(dim=1).mean()
        beta = args.beta * min(1.0, step / (args.warmup * args.steps))
        loss = reconstruction + beta * kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == args.steps:
            print(
                f"step {step}: reconstruction {reconstruction.item():.1f} "
                f"KL {kl.item():.2f} ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    encoder.eval()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(encoder).save(str(args.out))
    print(f"saved {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
