#!/usr/bin/env python3
"""SpikingJelly 2.0.0's "STA-style" recipe on the bundled float GELU ViT: the peer of `spikify eval --method sta`.

    nice .venv/bin/python tools/compare_sta_spikingjelly.py [--model models/vit-mnist-gelu.h5]
        [--calib models/data/mnist-calib.h5] [--data models/data/mnist-test.h5] [--limit 200]
        [--timesteps 8 16 32 64] [--batch 50] [--threads 2]

The ViT is rebuilt from the HDF5 weights as tools/check_fixtures.py does (`read_h5`, `to_timm`, `build`; inputs by
tools/h5util.py's `preprocess_uint8`). For each T it is converted with
`Converter(STATransformerRecipe(dataloader=calib, time_steps=T, mode="spiking_encoder", threshold_mode="mse"))`
(spikingjelly.activation_based.ann2snn.recipes.sta_transformer; an FX recipe, so `Converter`, not
`ModuleConverter`, which rejects it), calibrated on all images of the calibration file, exactly as the package's
own example `ann2snn/examples/imagenet_vit_sta.py`: multi-step mode, `reset_net`, the image at t = 0 and zeros
after ("first real then zero"), the readout the sum of the T outputs (the recipe's accumulated readout).

What the recipe makes spiking: `mode="spiking_encoder"` inserts a `_STASpikeEncoder` after every LayerNorm and
GELU (and nn.MultiheadAttention, which timm's ViT does not use); Linear/Conv2d, LayerNorm, GELU and the attention
interior (q·kᵀ, softmax, ·v) stay float "temporal-difference" operators that emit the change of the ANN's output
on the cumulative input. The encoder, per element, with per-channel threshold θ (the MSE-best clip / T):

    mem += x;  n = trunc(mem / θ);  out = n·θ;  mem -= out

so one step emits n·θ with an unbounded integer n (signed). We count n as |n| spikes of size θ: spikes per image
= Σ over all encoders, elements and steps of |out| / θ; the largest spike = max |n| over all elements and steps
(in units of that neuron's θ). Spikify's STA neurons emit at most 2θ per step (4 units of θ/2); see
docs/methods/sta.md. Also printed: ANN accuracy, SNN accuracy, agreement of the SNN's top-1 with the ANN's,
the share of spikes emitted at t = 0, and wall time per image (conversion excluded, batch --batch, --threads).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_fixtures import build, read_h5, to_timm  # noqa: E402
from h5util import preprocess_uint8  # noqa: E402

from spikingjelly.activation_based import functional  # noqa: E402
from spikingjelly.activation_based.ann2snn import Converter, STATransformerRecipe  # noqa: E402
from spikingjelly.activation_based.ann2snn.recipes.sta_transformer import _STASpikeEncoder  # noqa: E402


class MHAAttention(nn.Module):
    """timm's Attention as nn.MultiheadAttention (the same qkv and proj weights, need_weights=False).

    The recipe's step-mode graph adapter rejects timm's q/k/v split (its permute moves the batch dimension); it
    handles nn.MultiheadAttention, as in torchvision's ViT of the package's example. The function is unchanged."""

    def __init__(self, attn):
        super().__init__()
        D = attn.qkv.in_features
        self.mha = nn.MultiheadAttention(D, attn.num_heads, bias=attn.qkv.bias is not None, batch_first=True)
        with torch.no_grad():
            self.mha.in_proj_weight.copy_(attn.qkv.weight)
            if attn.qkv.bias is not None:
                self.mha.in_proj_bias.copy_(attn.qkv.bias)
            self.mha.out_proj.weight.copy_(attn.proj.weight)
            if attn.proj.bias is not None:
                self.mha.out_proj.bias.copy_(attn.proj.bias)
            elif self.mha.out_proj.bias is not None:
                self.mha.out_proj.bias.zero_()

    def forward(self, x, attn_mask=None, is_causal=False):
        out, _ = self.mha(x, x, x, need_weights=False)   # unpacked as torchvision does: the adapter expects it
        return out


def build_mha(sd, attrs):
    m = build(sd, attrs)
    for blk in m.blocks:
        blk.attn = MHAAttention(blk.attn)
    return m.eval()


def load_images(path, attrs, limit=None):
    with h5py.File(path, "r") as f:
        images = f["images"][:limit] if limit else f["images"][()]
        labels = f["labels"][:limit] if limit else f["labels"][()]
    x = preprocess_uint8(images, attrs["mean"], attrs["std"]) if images.dtype == np.uint8 else torch.from_numpy(images)
    return x, torch.from_numpy(labels)


class SpikeCounter:
    """Forward hooks on every _STASpikeEncoder: Σ|out|/θ, max |out|/θ, and the part at t = 0 (multi-step [T, ...])."""

    def __init__(self, model):
        self.encoders = [m for m in model.modules() if isinstance(m, _STASpikeEncoder)]
        for m in self.encoders:
            m.register_forward_hook(self.hook)
        self.reset()

    def reset(self):
        self.total, self.first, self.largest = 0.0, 0.0, 0.0
        self.sizes = {}                          # neurons per image, per encoder

    def hook(self, module, inputs, output):
        out = output[0] if isinstance(output, (tuple, list)) else output
        theta = torch.clamp(module.v_threshold.to(out.dtype), min=torch.finfo(out.dtype).eps)
        n = (out / theta).abs().round()          # out = trunc(mem/θ)·θ, so n is an integer up to rounding
        self.sizes[id(module)] = out[0, 0].numel()   # [T, batch, ...]
        self.total += n.sum().item()
        self.first += n[0].sum().item()
        self.largest = max(self.largest, n.max().item())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/vit-mnist-gelu.h5")
    ap.add_argument("--calib", default="models/data/mnist-calib.h5")
    ap.add_argument("--data", default="models/data/mnist-test.h5")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--timesteps", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--calib-batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    raw, attrs = read_h5(args.model)
    sd, _ = to_timm(raw, attrs)
    xc, _ = load_images(args.calib, attrs)
    x, y = load_images(args.data, attrs, args.limit)
    n = len(y)
    with torch.no_grad():
        ann_logits = build(sd, attrs)(x)
        dev = (build_mha(sd, attrs)(x) - ann_logits).abs().max().item()
    print(f"timm attention -> nn.MultiheadAttention: max |d logit| {dev:.2g}")
    ann_top1 = ann_logits.argmax(1)
    print(f"torch {torch.__version__}  threads {torch.get_num_threads()}  images {n}  "
          f"calibration {len(xc)} ({args.calib_batch} per batch)")
    print(f"ANN accuracy {(ann_top1 == y).float().mean().item() * 100:.1f}%")

    rows = []
    for T in args.timesteps:
        ann = build_mha(sd, attrs)
        calib = [xc[i:i + args.calib_batch] for i in range(0, len(xc), args.calib_batch)]
        recipe = STATransformerRecipe(dataloader=calib, time_steps=T, mode="spiking_encoder", threshold_mode="mse")
        snn = Converter(recipe=recipe, device="cpu").convert(ann).eval()
        functional.set_step_mode(snn, "m")
        counter = SpikeCounter(snn)
        preds = []
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, n, args.batch):
                xb = x[i:i + args.batch]
                seq = torch.zeros((T, *xb.shape), dtype=xb.dtype)
                seq[0] = xb
                functional.reset_net(snn)
                preds.append(snn(seq).sum(0).argmax(1))
        seconds = (time.perf_counter() - start) / n
        pred = torch.cat(preds)
        row = dict(T=T, acc=(pred == y).float().mean().item() * 100, agree=(pred == ann_top1).float().mean().item() * 100,
                   spikes=counter.total / n, first=counter.first / max(counter.total, 1) * 100,
                   largest=counter.largest, encoders=len(counter.encoders), neurons=sum(counter.sizes.values()),
                   s=seconds)
        rows.append(row)
        print(f"T={T}: accuracy {row['acc']:.1f}%  agreement {row['agree']:.1f}%  spikes/image {row['spikes'] / 1e6:.2f} M "
              f"({row['first']:.0f}% at t=0)  largest spike {row['largest']:.0f}θ  {row['s']:.3f} s/image  "
              f"{row['encoders']} encoders, {row['neurons']} neurons/image, "
              f"{row['spikes'] / row['neurons'] / T:.1f} spikes per neuron and step", flush=True)

    print()
    print("| T | SNN accuracy | agreement with ANN | spikes / image | of which at t = 0 | largest spike / step | time / image |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['T']} | {r['acc']:.1f}% | {r['agree']:.1f}% | {r['spikes'] / 1e6:.2f} M | {r['first']:.0f}% "
              f"| {r['largest']:.0f}θ | {r['s']:.3f} s |")


if __name__ == "__main__":
    main()
