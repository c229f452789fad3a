#!/usr/bin/env python3
"""Export a timm Vision Transformer to Spikify's HDF5 model format, with a reference data file.

    .venv/bin/python tools/export_timm.py MODEL_NAME OUT.h5 [--checkpoint WEIGHTS.pth] [--layout flat|nested]
                                          [--dtype float32|float16|float64] [--images 4] [--seed 0]

MODEL_NAME is any timm ViT (e.g. vit_tiny_patch16_224, vit_small_patch16_224, or with kwargs such as
global_pool=avg). Weights: --checkpoint (a state_dict saved with torch.save; nothing is downloaded), else timm's
random initialisation. Writes OUT.h5 (state_dict tensors plus num_heads, layer_norm_eps, act, global_pool, mean,
std attributes) and OUT.data.h5 (float32 [N,C,H,W] random images, and the model's `logits` computed in float32),
so that `spikify predict --model OUT.h5 --data OUT.data.h5 --out L.h5` can be compared with PyTorch.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import timm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h5util import write_dataset, write_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--checkpoint")
    ap.add_argument("--layout", choices=["flat", "nested"], default="flat")
    ap.add_argument("--dtype", choices=["float32", "float16", "float64"], default="float32")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kwargs", nargs="*", default=[], help="timm create_model keyword arguments, key=value")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    kwargs = {}
    for kv in args.kwargs:
        k, v = kv.split("=", 1)
        kwargs[k] = {"True": True, "False": False}.get(v, int(v) if v.isdigit() else v)
    model = timm.create_model(args.model, pretrained=False, **kwargs).eval()
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    dtype = getattr(np, args.dtype)
    if args.dtype == "float16":  # reference logits from the weights as stored
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    act = "relu" if isinstance(model.blocks[0].mlp.act, torch.nn.ReLU) else "gelu"
    cfg = model.pretrained_cfg or {}
    chans = model.patch_embed.proj.in_channels
    attrs = {
        "num_heads": model.blocks[0].attn.num_heads,
        "layer_norm_eps": float(model.blocks[0].norm1.eps),
        "act": act,
        "global_pool": "avg" if model.global_pool == "avg" else "token",
        "mean": list(cfg.get("mean", (0.5,) * chans)),
        "std": list(cfg.get("std", (0.5,) * chans)),
    }
    write_model(args.out, model.state_dict(), attrs, nested=args.layout == "nested", dtype=dtype)
    size = model.patch_embed.img_size
    x = torch.randn(args.images, chans, size[0], size[1], generator=torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        logits = model(x)
    base = args.out[:-3] if args.out.endswith(".h5") else args.out
    labels = logits.argmax(1).numpy()
    write_dataset(base + ".data.h5", x.numpy().astype(np.float32), labels, extra={"logits": logits.numpy()})
    print(f"wrote {args.out} and {base}.data.h5: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{attrs['num_heads']} heads, {act}, {attrs['global_pool']} pooling")


if __name__ == "__main__":
    main()
