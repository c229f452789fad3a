#!/usr/bin/env python3
"""SpikingJelly's SpikeZIP-TF recipe on the bundled QAT QANN, timed per image (the peer of `spikify-bench --snn`).

    .venv/bin/python tools/bench_spikingjelly.py [--model models/vit-mnist-relu-qann16.h5]
        [--data models/data/mnist-test.h5] [--batch 16] [--timesteps 32] [--threads 2] [--min-seconds 5]

The QANN is rebuilt from the HDF5 weights as tools/qann.py's `QViT` (the timm ViT with SpikeZIP-TF module names:
`quan_q`, `attn_quan`, `after_attn_quan`, `quan_proj`, …), its quantizers given the attributes the recipe reads
(`s`, `sym`, `pos_max`, `neg_min`, `level`), then converted with
`ModuleConverter(SpikeZIPTFQANNRecipe(time_steps=T, model_family="vit"))` (spikingjelly 2.0.0,
tools/requirements-spikingjelly.txt). Each run: `reset_net`, then T single steps on the same batch (the converted
layers act on temporal differences, so the image enters once), the outputs summed. Prints the median ms per image
over repeated runs, and the agreement of the summed logits with the QANN's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_fixtures import build, read_h5, to_timm  # noqa: E402
from h5util import preprocess_uint8  # noqa: E402
from qann import QAttention, Quan, QViT  # noqa: E402

from spikingjelly.activation_based import functional  # noqa: E402
from spikingjelly.activation_based.ann2snn import ModuleConverter, SpikeZIPTFQANNRecipe  # noqa: E402


def load_qann(path: str) -> QViT:
    raw, attrs = read_h5(path)
    sd, _ = to_timm(raw, attrs)
    q = QViT.from_timm(build(sd, attrs), levels=int(attrs["levels"])).eval()
    q.load_state_dict({k[len("module."):] if k.startswith("module.") else k: torch.from_numpy(np.asarray(v, np.float32))
                       for k, v in raw.items()})
    for m in q.modules():  # what the recipe reads from a SpikeZIP-TF QANN
        if isinstance(m, Quan):
            m.sym, m.level = m.signed, m.levels
            m.pos_max, m.neg_min = torch.tensor(float(m.hi)), torch.tensor(float(m.lo))
        if isinstance(m, QAttention):
            m.attn_drop, m.proj_drop = nn.Identity(), nn.Identity()
    return q, attrs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/vit-mnist-relu-qann16.h5")
    ap.add_argument("--data", default="models/data/mnist-test.h5")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--timesteps", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=5.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import spikingjelly
    q, attrs = load_qann(args.model)
    with h5py.File(args.data, "r") as f:
        images = f["images"][: args.batch]
    x = preprocess_uint8(images, attrs["mean"], attrs["std"]) if images.dtype == np.uint8 else torch.from_numpy(images)
    with torch.no_grad():
        qann = q(x)
        snn = ModuleConverter(recipe=SpikeZIPTFQANNRecipe(time_steps=args.timesteps, model_family="vit")).convert(q).eval()
        functional.set_step_mode(snn, "s")

        def run():
            functional.reset_net(snn)
            total = None
            for _ in range(args.timesteps):
                y = snn(x)
                total = y if total is None else total + y
            return total

        logits = run()  # warm-up, and the agreement check
        per = []
        start = time.perf_counter()
        while time.perf_counter() - start < args.min_seconds or len(per) < 3:
            t = time.perf_counter()
            run()
            per.append((time.perf_counter() - t) * 1000 / args.batch)
    agree = (logits.argmax(1) == qann.argmax(1)).float().mean().item()
    print(f"spikingjelly {spikingjelly.__version__ if hasattr(spikingjelly, '__version__') else '2.0.0'}  "
          f"torch {torch.__version__}  threads {torch.get_num_threads()}")
    print(f"spikingjelly_spikezip batch {args.batch} T {args.timesteps} ms_per_image {statistics.median(per):.3f} "
          f"runs {len(per)} agreement_with_qann {agree * 100:.1f}% max_abs_dlogit {(logits - qann).abs().max().item():.3g}")


if __name__ == "__main__":
    main()
