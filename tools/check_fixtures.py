#!/usr/bin/env python3
"""Independent read-back check of model/data HDF5 files (a tiny Python importer).

    .venv/bin/python tools/check_fixtures.py [files or dirs ...]   (default: Tests/Fixtures models)

Each `<name>.h5` is loaded only from what is in the file (datasets + root
attributes: config from shapes, flat or nested names, optional `module.`
prefix, timm / HF classic / HF v5 / SpikeZIP-TF / Keras 3 keras_hub ViT layouts), rebuilt as a timm
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


def keras_to_timm(sd, attrs):
    """Keras 3 .weights.h5 of a keras_hub ViTImageClassifier (docs/keras-import.md) -> timm keys.
    Fills attrs with keras_hub's defaults (heads from the query kernel, eps 1e-6, gelu, token)."""
    emb, enc = "vi_t_patching_and_embedding", "vi_t_encoder"
    if not any(emb in k or enc in k for k in sd):
        raise ValueError("a Keras file, but not a keras_hub ViT: " + ", ".join(sorted(sd)))
    out, head = {}, []
    for k, v in sd.items():
        p = k.split(".")
        if p[0] == "optimizer":
            continue
        assert p[-2] == "vars", k
        n, owner = int(p[-1]), p[:-2]
        if emb in owner:
            rest = owner[owner.index(emb) + 1:]
            if rest == []:
                out["cls_token"] = v
            elif rest == ["patch_embedding"]:
                out["patch_embed.proj." + ("weight" if n == 0 else "bias")] = v.transpose(3, 2, 0, 1) if n == 0 else v
            elif rest == ["position_embedding"]:
                out["pos_embed"] = v[None]
            else:
                raise KeyError(k)
        elif enc in owner:
            rest = owner[owner.index(enc) + 1:]
            if rest == ["layer_norm"]:
                out["norm." + ("weight" if n == 0 else "bias")] = v
                continue
            assert rest[0] == "encoder_layers", k
            m = re.fullmatch(r"vi_t_encoder_block(?:_(\d+))?", rest[1])
            i, local = int(m.group(1) or 0), "/".join(rest[2:])
            b = f"blocks.{i}."
            if local in ("layer_norm_1", "layer_norm_2"):
                out[b + ("norm1." if local.endswith("1") else "norm2.") + ("weight" if n == 0 else "bias")] = v
            elif local in ("mha/query_dense", "mha/key_dense", "mha/value_dense"):
                name = {"mha/query_dense": "q", "mha/key_dense": "k", "mha/value_dense": "v"}[local]
                out[b + f"attn.{name}." + ("weight" if n == 0 else "bias")] = \
                    v.reshape(v.shape[0], -1).T if n == 0 else v.reshape(-1)
                if n == 0:
                    attrs.setdefault("num_heads", v.shape[1])
            elif local == "mha/output_dense":
                out[b + "attn.proj." + ("weight" if n == 0 else "bias")] = v.reshape(-1, v.shape[-1]).T if n == 0 else v
            elif local in ("mlp/dense_1", "mlp/dense_2"):
                out[b + ("mlp.fc1." if local.endswith("1") else "mlp.fc2.") + ("weight" if n == 0 else "bias")] = \
                    v.T if n == 0 else v
            else:
                raise KeyError(k)
        else:
            head.append((k, n, v))
    for k, n, v in head:
        out["head." + ("weight" if n == 0 else "bias")] = v.T if n == 0 else v
    if "cls_token" not in out:
        raise ValueError("a keras_hub ViT without a class token (not supported)")
    for i in {k.split(".")[1] for k in out if k.startswith("blocks.")}:
        b = f"blocks.{i}.attn."
        out[b + "qkv.weight"] = np.concatenate([out.pop(b + x + ".weight") for x in "qkv"], 0)
        if b + "q.bias" in out:
            out[b + "qkv.bias"] = np.concatenate([out.pop(b + x + ".bias") for x in "qkv"], 0)
    for k, v in {"layer_norm_eps": 1e-6, "act": "gelu", "global_pool": "token"}.items():
        attrs.setdefault(k, v)
    return out


def to_timm(sd, attrs=None):
    """Map any supported layout to timm keys; returns (sd, layout)."""
    if sd and all(".vars." in k for k in sd) and any(k.startswith("layers.") for k in sd):
        return keras_to_timm(sd, attrs if attrs is not None else {}), "keras"
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
    bias = "blocks.0.mlp.fc1.bias" in sd     # timm's MLP and proj biases follow proj_bias (Keras: use_mha/mlp_bias)
    m = VisionTransformer(img_size=img, patch_size=P, in_chans=C, num_classes=classes, embed_dim=D,
                          depth=depth, num_heads=int(heads), mlp_ratio=hidden / D, qkv_bias=qkv_bias,
                          global_pool=pool, act_layer=nn.ReLU if act == "relu" else nn.GELU,
                          norm_layer=functools.partial(nn.LayerNorm, eps=eps),
                          **({} if bias else {"proj_bias": False}))
    if "patch_embed.proj.bias" not in sd:
        m.patch_embed.proj.bias = None
    if not bias:
        for blk in m.blocks:
            blk.mlp.fc1.bias = blk.mlp.fc2.bias = None
    m.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in sd.items()})
    return m.eval()


@torch.no_grad()
def check(path):
    raw, attrs = read_h5(path)
    dtypes = sorted({str(v.dtype) for v in raw.values()})
    try:
        sd, layout = to_timm(raw, attrs)
        m = build(sd, attrs)
    except ValueError as e:
        layout = locals().get("layout", "keras")
        return f"{os.path.basename(path)}: layout={layout} -> load error (expected for no_heads and the keras_dense_only / keras_vit_no_class_token error fixtures): {e}"
    nparams = sum(p.numel() for p in m.parameters())
    msg = f"{os.path.basename(path)}: layout={layout} dtypes={dtypes} params={nparams}"
    dp = (path[:-len(".weights.h5")] if path.endswith(".weights.h5") else path[:-3]) + ".data.h5"
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
