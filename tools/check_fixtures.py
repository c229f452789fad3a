#!/usr/bin/env python3
"""Independent read-back check of model/data HDF5 files (a tiny Python importer).

    .venv/bin/python tools/check_fixtures.py [files or dirs ...]   (default: Tests/Fixtures models)

Each `<name>.h5` is loaded only from what is in the file (datasets + root
attributes: config from shapes, flat or nested names, optional `module.`
prefix, timm / HF classic / HF v5 / SpikeZIP-TF layouts), rebuilt as a timm
VisionTransformer (or QViT), and run on `<name>.data.h5`; the result must match
the stored `logits` (and `qann_logits`). Model files without a data file are
only loaded (for `no_heads.h5` the missing head count is reported).
"""

from __future__ import annotations

import functools
import glob
import os
import re
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h5util import preprocess_uint8  # noqa: E402
from qann import QViT, spikezip_to_timm_keys  # noqa: E402

from timm.models.vision_transformer import VisionTransformer  # noqa: E402

torch.set_num_threads(2)


def read_h5(path):
    tensors, attrs = {}, {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                tensors[name.replace("/", ".")] = obj[()]
        f.visititems(visit)
        for k, v in f.attrs.items():
            attrs[k] = v.decode() if isinstance(v, bytes) else v
    return tensors, attrs


def to_timm(sd):
    """Map any supported layout to timm keys; returns (sd, layout)."""
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    if "patch_embed.proj.0.weight" in sd:
        return spikezip_to_timm_keys(sd), "spikezip"
    if "vit.embeddings.cls_token" not in sd:
        return sd, "timm"
    out, layout = {}, "hf_classic"
    for k, v in sd.items():
        if k == "vit.embeddings.cls_token":
            out["cls_token"] = v
        elif k == "vit.embeddings.position_embeddings":
            out["pos_embed"] = v
        elif k.startswith("vit.embeddings.patch_embeddings.projection."):
            out["patch_embed.proj." + k.split(".")[-1]] = v
        elif k.startswith("vit.layernorm."):
            out["norm." + k.split(".")[-1]] = v
        elif k.startswith("classifier."):
            out["head." + k.split(".")[-1]] = v
        else:
            m = re.match(r"vit\.(?:encoder\.layer|layers)\.(\d+)\.(.*)\.(weight|bias)$", k)
            assert m, k
            if k.startswith("vit.layers."):
                layout = "hf_v5"
            n, mid, leaf = m.groups()
            table = {"layernorm_before": "norm1", "layernorm_after": "norm2",
                     "attention.output.dense": "attn.proj", "attention.o_proj": "attn.proj",
                     "intermediate.dense": "mlp.fc1", "mlp.fc1": "mlp.fc1",
                     "output.dense": "mlp.fc2", "mlp.fc2": "mlp.fc2"}
            if mid in table:
                out[f"blocks.{n}.{table[mid]}.{leaf}"] = v
    for k in list(sd):   # merge q/k/v rows into qkv
        m = re.match(r"vit\.(?:encoder\.layer|layers)\.(\d+)\.attention\.(?:attention\.query|q_proj)\.(weight|bias)$", k)
        if m:
            n, leaf = m.groups()
            parts = []
            for a, b in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj")):
                kk = k.replace("attention.attention.query", f"attention.attention.{a}").replace("attention.q_proj", f"attention.{b}")
                parts.append(sd[kk])
            out[f"blocks.{n}.attn.qkv.{leaf}"] = np.concatenate(parts, 0)
    return out, layout


def build(sd, attrs):
    pw = sd["patch_embed.proj.weight"]
    D, C, P, _ = pw.shape
    n_tok = sd["pos_embed"].shape[1]
    img = int(round((n_tok - 1) ** 0.5)) * P
    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    hidden = sd["blocks.0.mlp.fc1.weight"].shape[0]
    heads = attrs.get("num_heads", attrs.get("num_attention_heads"))
    if heads is None:
        raise ValueError("cannot determine the number of heads")
    act = str(attrs.get("act", attrs.get("hidden_act", "gelu")))
    eps = float(attrs.get("layer_norm_eps", 1e-6))
    pool = str(attrs.get("global_pool", "avg" if "fc_norm.weight" in sd else "token"))
    classes = sd["head.weight"].shape[0]
    qkv_bias = "blocks.0.attn.qkv.bias" in sd
    m = VisionTransformer(img_size=img, patch_size=P, in_chans=C, num_classes=classes, embed_dim=D,
                          depth=depth, num_heads=int(heads), mlp_ratio=hidden / D, qkv_bias=qkv_bias,
                          global_pool=pool, act_layer=nn.ReLU if act == "relu" else nn.GELU,
                          norm_layer=functools.partial(nn.LayerNorm, eps=eps))
    m.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in sd.items()})
    return m.eval()


@torch.no_grad()
def check(path):
    raw, attrs = read_h5(path)
    dtypes = sorted({str(v.dtype) for v in raw.values()})
    sd, layout = to_timm(raw)
    try:
        m = build(sd, attrs)
    except ValueError as e:
        return f"{os.path.basename(path)}: layout={layout} -> load error (expected for no_heads): {e}"
    nparams = sum(p.numel() for p in m.parameters())
    msg = f"{os.path.basename(path)}: layout={layout} dtypes={dtypes} params={nparams}"
    dp = path[:-3] + ".data.h5"
    if not os.path.exists(dp):   # bundled models: evaluate on models/data/mnist-test.h5
        dp = os.path.join(os.path.dirname(path), "data", "mnist-test.h5")
    if not os.path.exists(dp):
        return msg + " (no data file)"
    with h5py.File(dp, "r") as f:
        images = f["images"][()]
        labels = f["labels"][()]
        ref = f["logits"][()] if "logits" in f else None
        qref = f["qann_logits"][()] if "qann_logits" in f else None
    assert labels.dtype == np.int64
    if images.dtype == np.uint8:
        x = preprocess_uint8(images, attrs["mean"], attrs["std"])
    else:
        x = torch.from_numpy(images)
    out = m(x).numpy()
    msg += f" images={images.dtype}{list(images.shape)}"
    if ref is not None:
        err = float(np.abs(out - ref).max())
        assert err < 1e-4, (path, err)
        msg += f" |logits-ref|max={err:.2e}"
    if layout == "spikezip":
        q = QViT.from_timm(m, levels=int(attrs["levels"])).eval()
        q.load_state_dict({k[len("module."):] if k.startswith("module.") else k: torch.from_numpy(np.asarray(v, dtype=np.float32))
                           for k, v in raw.items()})
        qout = q(x).numpy()
        if qref is not None:
            qerr = float(np.abs(qout - qref).max())
            assert qerr < 1e-4, (path, qerr)
            msg += f" |qann-ref|max={qerr:.2e}"
        msg += f" levels={int(attrs['levels'])}"
        if len(labels) >= 100:
            msg += (f" float-weights acc={(out.argmax(1) == labels).mean() * 100:.2f}%"
                    f" QANN acc={(qout.argmax(1) == labels).mean() * 100:.2f}%")
    elif len(labels) >= 100:
        msg += f" acc={(out.argmax(1) == labels).mean() * 100:.2f}%"
    return msg


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = sys.argv[1:] or [os.path.join(here, "..", "Tests", "Fixtures"), os.path.join(here, "..", "models")]
    files = []
    for a in args:
        if os.path.isdir(a):
            files += sorted(p for p in glob.glob(os.path.join(a, "*.h5")) if not p.endswith(".data.h5"))
        else:
            files.append(a)
    for p in files:
        print(check(p))


if __name__ == "__main__":
    main()
