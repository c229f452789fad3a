#!/usr/bin/env python3
"""Generate Spikify's parity fixtures in Tests/Fixtures/ (seeded, deterministic).

    .venv/bin/python tools/make_fixtures.py [--out Tests/Fixtures]

Every fixture is a small randomly initialised timm VisionTransformer (weights
re-drawn at a realistic scale, LayerNorm affine and cls/pos perturbed so that
nothing is trivial), saved as `<name>.h5` (model) + `<name>.data.h5` (images,
labels and the reference `logits` computed by PyTorch in float32, eval mode,
on exactly the input Swift sees). See Tests/Fixtures/README.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h5util import preprocess_uint8, sha256, write_dataset, write_model  # noqa: E402
from qann import QViT, quant_levels, qann_attrs  # noqa: E402

from timm.models.vision_transformer import VisionTransformer  # noqa: E402

torch.set_num_threads(2)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build_vit(*, img, patch, in_chans, dim, depth, heads, classes, act="gelu", pool="token",
              qkv_bias=True, eps=1e-6, mlp_ratio=4.0, seed=0) -> VisionTransformer:
    torch.manual_seed(seed)
    m = VisionTransformer(
        img_size=img, patch_size=patch, in_chans=in_chans, num_classes=classes, embed_dim=dim,
        depth=depth, num_heads=heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, global_pool=pool,
        act_layer=nn.ReLU if act == "relu" else nn.GELU,
        norm_layer=functools.partial(nn.LayerNorm, eps=eps))
    randomize(m, seed)
    for b in m.blocks:
        b.attn.fused_attn = False   # plain softmax(q k^T) v reference path
    return m.eval()


@torch.no_grad()
def randomize(m: nn.Module, seed: int) -> None:
    """Re-draw every parameter at a scale where attention is not uniform and LN is not identity."""
    g = torch.Generator().manual_seed(1000 + seed)

    def rn(shape):
        return torch.randn(shape, generator=g)

    for name, p in m.named_parameters():
        if name == "cls_token":
            p.copy_(0.5 * rn(p.shape))
        elif name == "pos_embed":
            p.copy_(0.3 * rn(p.shape))
        elif "norm" in name and name.endswith("weight"):
            p.copy_(1.0 + 0.3 * rn(p.shape))
        elif "norm" in name and name.endswith("bias"):
            p.copy_(0.2 * rn(p.shape))
        elif name.endswith("weight"):
            fan_in = p[0].numel()
            gain = 1.5 if "qkv" in name else 1.0
            p.copy_(gain * rn(p.shape) / fan_in ** 0.5)
        elif name.endswith("bias"):
            p.copy_(0.1 * rn(p.shape))
        else:
            raise KeyError(name)


def timm_attrs(m: VisionTransformer, mean, std, heads=True) -> dict:
    b = m.blocks[0]
    a = {}
    if heads:
        a["num_heads"] = b.attn.num_heads
    a["layer_norm_eps"] = float(b.norm1.eps)
    a["act"] = "relu" if isinstance(b.mlp.act, nn.ReLU) else "gelu"
    a["global_pool"] = m.global_pool
    a["mean"] = list(mean)
    a["std"] = list(std)
    return a


def make_images(kind: str, n: int, c: int, hw: int, seed: int):
    """Return (stored images, the float32 NCHW tensor the model sees)."""
    g = np.random.default_rng(seed)
    if kind == "float":
        imgs = g.standard_normal((n, c, hw, hw)).astype(np.float32)
        return imgs, torch.from_numpy(imgs)
    imgs = g.integers(0, 256, size=(n, hw, hw, c), dtype=np.uint8)
    return imgs, None


def labels_for(n, classes, seed):
    return np.random.default_rng(seed + 7).integers(0, classes, size=n).astype(np.int64)


# ---------------------------------------------------------------------------
# Hugging Face key layouts (renaming of a timm state_dict; no transformers dependency)

def hf_classic(sd: dict, dim: int) -> dict:
    out = {}
    for k, v in sd.items():
        p = k.split(".")
        if k == "cls_token":
            out["vit.embeddings.cls_token"] = v
        elif k == "pos_embed":
            out["vit.embeddings.position_embeddings"] = v
        elif k.startswith("patch_embed.proj."):
            out["vit.embeddings.patch_embeddings.projection." + p[-1]] = v
        elif p[0] == "blocks":
            n, rest, leaf = p[1], ".".join(p[2:-1]), p[-1]
            L = f"vit.encoder.layer.{n}."
            if rest == "attn.qkv":
                for i, nm in enumerate(("query", "key", "value")):
                    out[L + f"attention.attention.{nm}.{leaf}"] = v[i * dim:(i + 1) * dim]
            else:
                out[L + {"norm1": "layernorm_before", "attn.proj": "attention.output.dense",
                         "norm2": "layernorm_after", "mlp.fc1": "intermediate.dense",
                         "mlp.fc2": "output.dense"}[rest] + "." + leaf] = v
        elif p[0] == "norm":
            out["vit.layernorm." + p[-1]] = v
        elif p[0] == "head":
            out["classifier." + p[-1]] = v
        else:
            raise KeyError(k)
    return out


def hf_v5(sd: dict, dim: int) -> dict:
    out = {}
    for k, v in hf_classic(sd, dim).items():
        if k.startswith("vit.encoder.layer."):
            p = k.split(".")
            n, rest = p[3], ".".join(p[4:])
            for a, b in (("attention.attention.query.", "attention.q_proj."),
                         ("attention.attention.key.", "attention.k_proj."),
                         ("attention.attention.value.", "attention.v_proj."),
                         ("attention.output.dense.", "attention.o_proj."),
                         ("intermediate.dense.", "mlp.fc1."),
                         ("output.dense.", "mlp.fc2.")):
                if rest.startswith(a):
                    rest = b + rest[len(a):]
                    break
            k = f"vit.layers.{n}.{rest}"
        out[k] = v
    return out


# ---------------------------------------------------------------------------

def save_pair(out_dir, name, model_state, attrs, images, labels, logits, *, nested=False,
              prefix="", dtype=np.float32, extra=None, data_attrs=None, summary=None):
    mp = os.path.join(out_dir, f"{name}.h5")
    write_model(mp, model_state, attrs, nested=nested, prefix=prefix, dtype=dtype)
    files = [mp]
    if images is not None:
        dp = os.path.join(out_dir, f"{name}.data.h5")
        ex = {"logits": logits}
        ex.update(extra or {})
        write_dataset(dp, images, labels, ex, data_attrs)
        files.append(dp)
    if summary is not None:
        summary[name] = {os.path.basename(f): {"bytes": os.path.getsize(f), "sha256": sha256(f)} for f in files}
    return files


@torch.no_grad()
def run_plain(out_dir, summary, name, *, img, patch, in_chans, dim, depth, heads, classes,
              act="gelu", pool="token", qkv_bias=True, eps=1e-6, image_kind="float", n=6,
              mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), nested=False, prefix="", dtype=np.float32,
              seed=0, layout="timm", heads_attr=True, mlp_ratio=4.0):
    m = build_vit(img=img, patch=patch, in_chans=in_chans, dim=dim, depth=depth, heads=heads,
                  classes=classes, act=act, pool=pool, qkv_bias=qkv_bias, eps=eps, seed=seed,
                  mlp_ratio=mlp_ratio)
    if dtype != np.float32:
        # reference logits from the weights exactly as stored (e.g. f16-rounded)
        sd = {k: torch.from_numpy(v.numpy().astype(dtype).astype(np.float32)) for k, v in m.state_dict().items()}
        m.load_state_dict(sd)
    mean, std = tuple(mean[:in_chans]), tuple(std[:in_chans])
    images, x = make_images(image_kind, n, in_chans, img, seed + 100)
    if x is None:
        x = preprocess_uint8(images, mean, std)
    logits = m(x).numpy().astype(np.float32)
    labels = labels_for(n, classes, seed)
    sd = m.state_dict()
    if layout == "timm":
        attrs = timm_attrs(m, mean, std, heads=heads_attr)
    else:
        sd = (hf_classic if layout == "hf_classic" else hf_v5)(sd, dim)
        attrs = {"num_attention_heads": heads, "hidden_act": act, "layer_norm_eps": float(eps),
                 "mean": list(mean), "std": list(std)}
    save_pair(out_dir, name, sd, attrs, images, labels, logits, nested=nested, prefix=prefix,
              dtype=dtype, summary=summary)
    return m


@torch.no_grad()
def run_qann(out_dir, summary, name, *, act, pool="token", seed, levels=16, n=6,
             margin=1e-4, candidates=2000):
    img, patch, in_chans, dim, depth, heads, classes = 16, 4, 3, 32, 2, 2, 10
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    m = build_vit(img=img, patch=patch, in_chans=in_chans, dim=dim, depth=depth, heads=heads,
                  classes=classes, act=act, pool=pool, seed=seed)
    q = QViT.from_timm(m, levels=levels).eval()
    # float sanity: with the quantizers off, QViT == timm
    xc = torch.from_numpy(np.random.default_rng(seed + 50).standard_normal((32, in_chans, img, img)).astype(np.float32))
    q.set_quant(False)
    assert torch.allclose(q(xc), m(xc), atol=1e-5), (q(xc) - m(xc)).abs().max()
    q.set_quant(True)
    q.init_scales(xc)                      # data-driven LSQ init on a separate calibration batch
    q.eval()
    qd = QViT.from_timm(m, levels=levels).double().eval()
    qd.load_state_dict(q.state_dict())

    # Keep candidate images whose every quantizer input lies at least `margin` (in units of s)
    # from a rounding boundary, and whose float32 and float64 levels agree everywhere; a
    # slightly different float32 summation order on the Swift side then cannot flip a level.
    keep, margins, tried = [], [], 0
    rng = np.random.default_rng(seed + 100)
    while len(keep) < n and tried < candidates:
        tried += 1
        im = rng.standard_normal((1, in_chans, img, img)).astype(np.float32)
        x = torch.from_numpy(im)
        l32 = quant_levels(q, x)
        l64 = quant_levels(qd, x.double())
        same = all(torch.equal(l32[k][0], l64[k][0].float()) for k in l32)
        mg = min(float(v[1].min()) if v[1].numel() else 1.0 for v in l64.values())
        if same and mg >= margin:
            keep.append(im)
            margins.append(mg)
    if len(keep) < n:
        raise RuntimeError(f"{name}: only {len(keep)} robust images out of {tried}")
    images = np.concatenate(keep)
    x = torch.from_numpy(images)
    logits = m(x).numpy()
    qlogits = q(x).numpy()
    q64 = qd(x.double()).numpy()
    assert np.abs(qlogits - q64).max() < 1e-4, np.abs(qlogits - q64).max()
    labels = labels_for(n, classes, seed)
    sd = q.state_dict()
    attrs = qann_attrs(q)
    attrs["mean"], attrs["std"] = list(mean), list(std)
    save_pair(out_dir, name, sd, attrs, images, labels, logits, extra={"qann_logits": qlogits},
              data_attrs={"qann_min_margin": float(min(margins))}, summary=summary)
    summary[name]["_info"] = {"candidates_tried": tried, "min_margin": float(min(margins)),
                              "max_abs_f32_vs_f64_qann": float(np.abs(qlogits - q64).max()),
                              "max_abs_qann_vs_float": float(np.abs(qlogits - logits).max()),
                              "argmax_agree": int((qlogits.argmax(1) == logits.argmax(1)).sum())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    S = {}

    run_plain(out, S, "timm_gelu_token", img=32, patch=8, in_chans=3, dim=48, depth=2, heads=3,
              classes=10, act="gelu", pool="token", image_kind="float", seed=1)
    run_plain(out, S, "timm_relu_avg_nested", img=32, patch=8, in_chans=3, dim=48, depth=2, heads=4,
              classes=10, act="relu", pool="avg", qkv_bias=False, image_kind="uint8",
              mean=IMAGENET_MEAN, std=IMAGENET_STD, nested=True, prefix="module.", dtype=np.float64,
              seed=2)
    run_plain(out, S, "timm_f16", img=16, patch=4, in_chans=1, dim=32, depth=2, heads=2, classes=10,
              act="gelu", pool="token", image_kind="uint8", mean=(0.1307,), std=(0.3081,),
              dtype=np.float16, seed=3)
    run_plain(out, S, "hf_classic", img=32, patch=8, in_chans=3, dim=48, depth=2, heads=3, classes=10,
              act="gelu", eps=1e-12, image_kind="float", layout="hf_classic", seed=4)
    run_plain(out, S, "hf_v5", img=32, patch=8, in_chans=3, dim=48, depth=2, heads=3, classes=10,
              act="gelu", eps=1e-12, image_kind="uint8", layout="hf_v5", seed=5)
    run_plain(out, S, "vit_tiny_geom", img=224, patch=16, in_chans=3, dim=64, depth=2, heads=2,
              classes=10, act="gelu", image_kind="uint8", n=4, seed=6)
    # no_heads: model only (D 48 is divisible by 1,2,3,4,6,8,... so heads cannot be guessed)
    m = build_vit(img=16, patch=4, in_chans=3, dim=48, depth=1, heads=3, classes=10, mlp_ratio=2.0, seed=7)
    write_model(os.path.join(out, "no_heads.h5"), m.state_dict(),
                timm_attrs(m, (0.5,) * 3, (0.5,) * 3, heads=False))
    S["no_heads"] = {"no_heads.h5": {"bytes": os.path.getsize(os.path.join(out, "no_heads.h5")),
                                     "sha256": sha256(os.path.join(out, "no_heads.h5"))}}

    run_qann(out, S, "spikezip_qann_relu", act="relu", seed=8)
    run_qann(out, S, "spikezip_qann_gelu", act="gelu", seed=9)
    run_qann(out, S, "spikezip_qann_relu_avg", act="relu", pool="avg", seed=10)

    total = sum(v["bytes"] for d in S.values() for k, v in d.items() if not k.startswith("_"))
    print(json.dumps(S, indent=1))
    print(f"total fixture bytes: {total}")


if __name__ == "__main__":
    main()
