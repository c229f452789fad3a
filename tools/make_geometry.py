#!/usr/bin/env python3
"""Random-weight timm ViT geometries for timing, with numpy and h5py only (no torch: Debian's python3-h5py is
enough). Weights follow timm's initialisation (trunc-normal std 0.02, zero biases, unit LayerNorm), which is all a
timing needs; accuracy numbers from these files mean nothing.

    python3 tools/make_geometry.py {tiny,small,base} OUT_DIR [--images 4] [--calib 16] [--act relu|gelu]

Writes OUT_DIR/vit-<g>.h5 (timm flat layout, 224×224, patch 16, 1000 classes), OUT_DIR/vit-<g>.data.h5 (float32
[N,3,224,224] random images with labels) and OUT_DIR/vit-<g>.calib.h5 (calibration images).
"""

from __future__ import annotations

import argparse
import os

import h5py
import numpy as np

GEOMETRIES = {"tiny": (192, 3), "small": (384, 6), "base": (768, 12)}  # width, heads; depth 12, MLP 4×


def weights(width: int, depth: int = 12, classes: int = 1000, patch: int = 16, size: int = 224, rng=None):
    tokens = (size // patch) ** 2 + 1

    def w(*shape):
        return np.clip(rng.normal(0.0, 0.02, shape), -0.04, 0.04).astype(np.float32)

    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    o = lambda *s: np.ones(s, np.float32)  # noqa: E731
    s = {"cls_token": w(1, 1, width), "pos_embed": w(1, tokens, width),
         "patch_embed.proj.weight": w(width, 3, patch, patch), "patch_embed.proj.bias": z(width)}
    for i in range(depth):
        b = f"blocks.{i}."
        s.update({b + "norm1.weight": o(width), b + "norm1.bias": z(width),
                  b + "attn.qkv.weight": w(3 * width, width), b + "attn.qkv.bias": z(3 * width),
                  b + "attn.proj.weight": w(width, width), b + "attn.proj.bias": z(width),
                  b + "norm2.weight": o(width), b + "norm2.bias": z(width),
                  b + "mlp.fc1.weight": w(4 * width, width), b + "mlp.fc1.bias": z(4 * width),
                  b + "mlp.fc2.weight": w(width, 4 * width), b + "mlp.fc2.bias": z(width)})
    s.update({"norm.weight": o(width), "norm.bias": z(width), "head.weight": w(classes, width), "head.bias": z(classes)})
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("geometry", choices=sorted(GEOMETRIES))
    ap.add_argument("out_dir")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--calib", type=int, default=16)
    ap.add_argument("--act", choices=["relu", "gelu"], default="relu")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    width, heads = GEOMETRIES[a.geometry]
    os.makedirs(a.out_dir, exist_ok=True)
    base = os.path.join(a.out_dir, f"vit-{a.geometry}")
    with h5py.File(base + ".h5", "w") as f:
        for k, v in weights(width, rng=rng).items():
            f.create_dataset(k, data=v)
        f.attrs["num_heads"] = np.int64(heads)
        f.attrs["layer_norm_eps"] = np.float64(1e-6)
        f.attrs["act"] = a.act
        f.attrs["global_pool"] = "token"
        f.attrs["mean"] = np.array([0.5, 0.5, 0.5], np.float32)
        f.attrs["std"] = np.array([0.5, 0.5, 0.5], np.float32)
    for suffix, n in ((".data.h5", a.images), (".calib.h5", a.calib)):
        with h5py.File(base + suffix, "w") as f:
            f.create_dataset("images", data=rng.standard_normal((n, 3, 224, 224), dtype=np.float32))
            f.create_dataset("labels", data=rng.integers(0, 1000, n).astype(np.int64))
    print(f"wrote {base}.h5 (width {width}, {heads} heads, depth 12, {a.act}), {base}.data.h5, {base}.calib.h5")


if __name__ == "__main__":
    main()
