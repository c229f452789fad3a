#!/usr/bin/env python3
"""PyTorch CPU eval throughput of the ViT-Tiny and ViT-Small geometries (baseline for Spikify's Swift ANN).

    .venv/bin/python tools/bench_torch.py [--models vit_tiny vit_small] [--threads 2] [--batches 1 16] [--repeats 5]

Models: timm vit_tiny_patch16_224 (D 192, depth 12, 3 heads, mlp 768) and vit_small_patch16_224 (D 384, depth 12,
6 heads, mlp 1536) configurations, 197 tokens, GELU, token pool, 1000 classes, random init (pretrained=False),
float32, eval mode, torch.inference_mode. For each batch size: warm-up runs, then `repeats` timed runs of enough
iterations to last ~`--min-seconds`; the table reports the median images/s (and the best), and one line per
measurement `torch <model> batch <b> images_per_s <median>` for tools/bench.sh.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import timm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["vit_tiny", "vit_small"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--fused-attn", type=int, default=1, help="1: timm default (F.scaled_dot_product_attention)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}  timm {timm.__version__}  python {platform.python_version()}  "
          f"threads {torch.get_num_threads()}  interop {torch.get_num_interop_threads()}  "
          f"cpu {platform.processor() or platform.machine()}")
    print(f"cpus visible {os.cpu_count()}  load average (1/5/15 min) {os.getloadavg()[0]:.2f}/{os.getloadavg()[1]:.2f}/{os.getloadavg()[2]:.2f}")
    for name in args.models:
        bench(name, args)


def bench(name, args):
    torch.manual_seed(0)
    model = timm.create_model(f"{name}_patch16_224", pretrained=False, num_classes=1000).eval()
    for b in model.blocks:
        b.attn.fused_attn = bool(args.fused_attn)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {name}_patch16_224 (random init)  params {n_params:,}  fused_attn {bool(args.fused_attn)}  float32 eval")
    rows = []
    with torch.inference_mode():
        for bs in args.batches:
            x = torch.randn(bs, 3, 224, 224)
            for _ in range(args.warmup):
                model(x)
            t = time.perf_counter()
            model(x)
            per = max(time.perf_counter() - t, 1e-4)
            iters = max(1, int(args.min_seconds / per))
            rates = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                for _ in range(iters):
                    model(x)
                dt = time.perf_counter() - t
                rates.append(bs * iters / dt)
            med = statistics.median(rates)
            rows.append((bs, iters, med, max(rates), 1000 * bs / med))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{'batch':>5} {'iters/rep':>9} {'median img/s':>13} {'best img/s':>11} {'ms/batch':>9} {'ms/img':>8}")
    for bs, iters, med, best, ms_batch in rows:
        print(f"{bs:>5} {iters:>9} {med:>13.2f} {best:>11.2f} {ms_batch:>9.1f} {1000 / med:>8.2f}")
    for bs, _, med, _, _ in rows:
        print(f"torch {name} batch {bs} images_per_s {med:.2f}")

if __name__ == "__main__":
    main()
