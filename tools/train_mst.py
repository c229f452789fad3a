#!/usr/bin/env python3
"""Train Spikify's bundled MST-style MNIST ViTs (Masked Spiking Transformer, Wang et al., ICCV 2023).

    .venv/bin/python tools/train_mst.py [--out models] [--threads 1] [--epochs 60] [--mask-epochs 45]

Writes (see models/README.md, section "MST models", and docs/methods/mst.md):
  models/vit-mnist-mst16.h5        QCFS (L = 16) ViT with BatchNorm in the blocks, trained with masking 0
  models/vit-mnist-mst16-mask75.h5 the same, fine-tuned from the first with random spike masking p = 0.75
  models/mst_train_log.txt, and the "mst_models" entry of models/manifest.json (SHA-256, accuracies)

Data: the split of tools/train_mnist.py (load_split: 1000 held-out test images, 4000 training images,
256 calibration images taken from the training images); the test set is never used for training.

Architecture (the ViT adaptation of MST, docs/methods/mst.md): the geometry of the bundled timm ViTs
(28x28x1, patch 4, 50 tokens, width 64, depth 4, 4 heads, MLP 128, token pooling). A QCFS activation
(Bu et al., ICLR 2022)

    y = lam * clip(floor(x * L / lam + 0.5) / L, 0, 1),   one learnable lam (`up`) per site, L = 16

follows the patch embedding, norm1, q, k, v, the scaled scores (before softmax), attn@v, proj, norm2, fc1
(in place of the activation; there is no GELU/ReLU) and fc2. norm1/norm2 are BatchNorm1d over (batch, tokens)
per channel, the final norm stays a LayerNorm. Residuals are the standard pre-norm ones:
    x = x + QCFS(proj(QCFS(softmax(QCFS(q k^T s)) QCFS(v))));  x = x + QCFS(fc2(QCFS(fc1(QCFS(BN2(x))))))
Random spike masking (MST section 3.3): Bernoulli keep-masks with keep probability 1 - p, no rescaling, fresh
on every forward, on the Q and K outputs and on the score output (as the released MST code). In eval mode the
network uses the expected mask (multiplies those sites by 1 - p), which is Spikify's deterministic QCFS
reference for a masked model.

Initialisation: the weights of the bundled float ReLU ViT (models/vit-mnist-relu.h5, checked against
manifest.json); LayerNorm weight/bias become the BatchNorm weight/bias (as MST loads Swin-T with strict=False);
lam starts at the 99.9th percentile of the site's float activations on the calibration images. Loss: CE with
label smoothing 0.1 plus KD from the float ReLU ViT (tau = 2). AdamW, cosine schedule, the augmentation of
train_mnist.py. Everything seeded, deterministic algorithms, 1 thread by default (on a shared 2-core machine
two OpenMP threads ran 4x slower than one): a rerun with the same thread count reproduces the files bit for bit
on the same machine.

State-dict keys follow the MST code's naming: patch_embed.proj.{weight,bias}, patch_embed.proj_if.up,
blocks.N.norm1.{weight,bias,running_mean,running_var,num_batches_tracked}, blocks.N.shortcut1_if.up,
blocks.N.attn.{qkv,proj}.*, blocks.N.attn.{q_if,k_if,v_if,attn_if,attn_v_if,proj_if}.up,
blocks.N.norm2.*, blocks.N.shortcut2_if.up, blocks.N.mlp.{fc1,fc2}.*, blocks.N.mlp.{fc1_if,fc2_if}.up,
norm.{weight,bias}, head.{weight,bias}, cls_token, pos_embed. Root attributes: num_heads, layer_norm_eps
(final LN), batch_norm_eps, levels, masking_ratio, mean, std, global_pool.
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
from h5util import preprocess_uint8, sha256, write_model  # noqa: E402
from train_mnist import ARCH, MEAN, STD, augment, load_split, lr_at, normalize, to01  # noqa: E402

LEVELS = 16
BN_EPS = 1e-5
LN_EPS = 1e-6


class _QCFSFunction(torch.autograd.Function):
    """QCFS with a straight-through floor (the gradients of MST's MyFloor/GradFloor), fused into few tensor ops.

    forward:  z = floor(x * L / up + 0.5) / L;  y = clamp(z, 0, 1) * up
    backward: dy/dx = 1 where 0 <= z <= 1 (else 0);  dy/dup = clamp(z, 0, 1) - [0 <= z <= 1] * x / up
    """

    @staticmethod
    def forward(ctx, x, up, levels):
        z = torch.floor(x * (levels / up) + 0.5).div_(levels)
        inside = (z >= 0) & (z <= 1)
        c = z.clamp_(0, 1)
        ctx.save_for_backward(x, up, c, inside)
        return c * up

    @staticmethod
    def backward(ctx, g):
        x, up, c, inside = ctx.saved_tensors
        gx = g * inside
        gup = (g * c).sum() - (gx * x).sum() / up
        return gx, gup.reshape(up.shape), None


class QCFS(nn.Module):
    """QCFS activation (Bu et al., ICLR 2022, eq. 16); `up` is the threshold lam, shape [1] as in MST."""

    def __init__(self, levels=LEVELS, up=2.0):
        super().__init__()
        self.levels = levels
        self.up = nn.Parameter(torch.tensor([float(up)]))
        self.record = None     # list -> record the float input and pass it through (lam initialisation)

    def forward(self, x):
        if self.record is not None:
            self.record.append(x.detach().flatten())
            return x
        L = self.levels
        if self.training:
            return _QCFSFunction.apply(x, self.up, float(L))
        return torch.clamp(torch.floor(x / self.up * L + 0.5) / L, 0, 1) * self.up


class SpikeMask(nn.Module):
    """Random spike masking (MST): keep each element with probability 1 - p, no rescaling; expected mask in eval."""

    def __init__(self, ratio):
        super().__init__()
        self.ratio = ratio

    def forward(self, x):
        if self.ratio <= 0:
            return x
        if self.training:
            return x * (torch.rand_like(x) >= self.ratio).to(x.dtype)
        return x * (1.0 - self.ratio)


class TokenBN(nn.BatchNorm1d):
    """BatchNorm1d over [B, N, C]: statistics per channel, pooled over batch and tokens."""

    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads, ratio):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.scale = self.hd ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.q_if, self.k_if, self.v_if = QCFS(), QCFS(), QCFS()
        self.attn_if, self.attn_v_if, self.proj_if = QCFS(), QCFS(), QCFS()
        self.mask = SpikeMask(ratio)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        q = self.mask(self.q_if(qkv[0]))
        k = self.mask(self.k_if(qkv[1]))
        v = self.v_if(qkv[2])
        s = self.mask(self.attn_if((q @ k.transpose(-2, -1)) * self.scale))
        a = s.softmax(-1)
        o = self.attn_v_if(a @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj_if(self.proj(o))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.fc1_if, self.fc2_if = QCFS(), QCFS()

    def forward(self, x):
        return self.fc2_if(self.fc2(self.fc1_if(self.fc1(x))))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden, ratio):
        super().__init__()
        self.norm1, self.norm2 = TokenBN(dim, eps=BN_EPS), TokenBN(dim, eps=BN_EPS)
        self.shortcut1_if, self.shortcut2_if = QCFS(), QCFS()
        self.attn = Attention(dim, heads, ratio)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.shortcut1_if(self.norm1(x)))
        return x + self.mlp(self.shortcut2_if(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, chans, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(chans, dim, patch, patch)
        self.proj_if = QCFS()

    def forward(self, x):
        return self.proj_if(self.proj(x).flatten(2).transpose(1, 2))


class MSTViT(nn.Module):
    def __init__(self, ratio=0.0):
        super().__init__()
        D, P = ARCH["embed_dim"], ARCH["patch_size"]
        n = (ARCH["img_size"] // P) ** 2
        self.patch_embed = PatchEmbed(ARCH["in_chans"], D, P)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, D))
        hidden = int(D * ARCH["mlp_ratio"])
        self.blocks = nn.ModuleList([Block(D, ARCH["num_heads"], hidden, ratio) for _ in range(ARCH["depth"])])
        self.norm = nn.LayerNorm(D, eps=LN_EPS)
        self.head = nn.Linear(D, ARCH["num_classes"])

    def set_ratio(self, ratio):
        for m in self.modules():
            if isinstance(m, SpikeMask):
                m.ratio = ratio

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x)[:, 0])


def load_float_relu(models_dir):
    """The bundled float ReLU ViT (timm keys) as a state dict, after checking its SHA-256 against the manifest."""
    import h5py
    path = os.path.join(models_dir, "vit-mnist-relu.h5")
    with open(os.path.join(models_dir, "manifest.json")) as f:
        man = json.load(f)
    want = [m["sha256"] for m in man["models"] if m["file"] == "vit-mnist-relu.h5"][0]
    if sha256(path) != want:
        raise SystemExit(f"{path} does not match manifest.json")
    with h5py.File(path, "r") as f:
        return {k: torch.from_numpy(np.asarray(f[k][()], dtype=np.float32)) for k in f.keys()}


def relu_teacher(sd):
    from timm.models.vision_transformer import VisionTransformer
    t = VisionTransformer(**ARCH, act_layer=nn.ReLU)
    t.load_state_dict(sd)
    return t.eval()


def init_from_float(m: MSTViT, sd):
    own = m.state_dict()
    with torch.no_grad():
        for k, v in sd.items():
            if k in own and own[k].shape == v.shape:
                own[k].copy_(v)      # LN weight/bias land in the BN weight/bias (as MST's strict=False load)
            elif k not in own:
                raise KeyError(k)


@torch.no_grad()
def init_thresholds(m: MSTViT, xcal, q=0.999):
    """lam of every QCFS site = the q-quantile of its float input on the calibration images (float network)."""
    sites = [mod for mod in m.modules() if isinstance(mod, QCFS)]
    for s in sites:
        s.record = []
    m.train()                   # BN on batch statistics of the calibration images (running stats untouched below)
    saved = {k: v.clone() for k, v in m.state_dict().items() if "running" in k or "num_batches" in k}
    m(xcal)
    m.load_state_dict({**m.state_dict(), **saved})
    for s in sites:
        v = torch.cat(s.record)
        s.record = None
        s.up.fill_(max(float(torch.quantile(v[:1 << 24].double(), q)), 1e-3))


def train(model, teacher, Xtr01, ytr, *, epochs, lr, wd, bs, seed, log, monitor):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed + 1)          # masks draw from the global generator
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or n in ("cls_token", "pos_embed") or n.endswith(".up") else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr)
    n = len(ytr)
    steps_per = n // bs
    total, warmup = epochs * steps_per, steps_per
    step, t0 = 0, time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        tl = tc = 0.0
        for i in range(steps_per):
            idx = perm[i * bs:(i + 1) * bs]
            xb, yb = normalize(augment(Xtr01[idx], g)), ytr[idx]
            for gr in opt.param_groups:
                gr["lr"] = lr_at(step, total, lr, warmup)
            out = model(xb)
            with torch.no_grad():
                t = teacher(xb)
            tau = 2.0
            loss = F.cross_entropy(out, yb, label_smoothing=0.1) + F.kl_div(
                F.log_softmax(out / tau, 1), F.softmax(t / tau, 1), reduction="batchmean") * tau * tau
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for mod in model.modules():
                    if isinstance(mod, QCFS):
                        mod.up.clamp_(min=1e-3)
            step += 1
            tl += float(loss) * len(yb)
            tc += int((out.argmax(1) == yb).sum())
        msg = (f"  epoch {ep + 1:3d}/{epochs} loss {tl / (steps_per * bs):.4f} "
               f"train-acc {tc / (steps_per * bs) * 100:.2f}  t={time.time() - t0:.0f}s")
        if monitor is not None and ((ep + 1) % 5 == 0 or ep + 1 == epochs):
            msg += f"  [monitor] {monitor(model)}"
        log(msg)


@torch.no_grad()
def accuracy(model, x, y, bs=500):
    model.eval()
    return sum(int((model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum()) for i in range(0, len(y), bs))


@torch.no_grad()
def random_mask_accuracy(model, x, y, seed=7):
    """Accuracy with fresh random masks (MST's stochastic ANN validation), BN in eval mode."""
    model.eval()
    for mod in model.modules():
        if isinstance(mod, SpikeMask):
            mod.train()
    torch.manual_seed(seed)
    c = int((model(x).argmax(1) == y).sum())
    model.eval()
    return c


def attrs_for(ratio):
    return {"num_heads": ARCH["num_heads"], "act": "relu", "layer_norm_eps": LN_EPS, "batch_norm_eps": BN_EPS,
            "levels": LEVELS, "masking_ratio": float(ratio), "global_pool": "token",
            "mean": list(MEAN), "std": list(STD)}


def reload(path, ratio):
    import h5py
    m = MSTViT(ratio)
    with h5py.File(path, "r") as f:
        sd = {k: torch.from_numpy(np.asarray(f[k][()])) for k in f.keys()}
    sd = {k: (v.long() if k.endswith("num_batches_tracked") else v) for k, v in sd.items()}
    m.load_state_dict(sd)
    return m.eval()


def describe(path, ratio, epochs, wall, xte, yte, log, val):
    """Reload a written model, measure its test accuracy and describe it for the manifest."""
    name = os.path.basename(path)
    m = reload(path, ratio)
    c = accuracy(m, xte, yte) if not val else -1
    cr = random_mask_accuracy(m, xte, yte) if ratio > 0 and not val else c
    log(f"{name}: test {c}/{len(yte)} (expected mask), {cr}/{len(yte)} (random masks, seed 7)"
        + (f"  ({wall:.0f}s)" if wall is not None else ""))
    return {"file": name, "levels": LEVELS, "masking_ratio": ratio,
            "parameters": sum(p.numel() for k, p in m.named_parameters() if not k.endswith(".up")),
            "thresholds": sum(1 for k, _ in m.named_parameters() if k.endswith(".up")),
            "epochs": epochs, "test_correct": c, "test_total": len(yte),
            "test_accuracy": round(c / len(yte) * 100, 2),
            "test_accuracy_random_masks_seed7": round(cr / len(yte) * 100, 2),
            "train_seconds": None if wall is None else round(wall), "sha256": sha256(path)}


def write_readme_section(out):
    """The "MST models" section at the end of models/README.md, from manifest.json's mst_models (rerun this after
    tools/train_mnist.py, which rewrites both files)."""
    with open(os.path.join(out, "manifest.json")) as f:
        mst = json.load(f)["mst_models"]
    L = ["## MST models\n",
         "Written by `tools/train_mst.py` (run it after `tools/train_mnist.py`, which rewrites this file and "
         "`manifest.json`); conversion and results: `docs/methods/mst.md`.\n",
         "| file | masking ratio | parameters | QCFS thresholds | epochs | PyTorch test accuracy (expected mask) "
         "| with random masks (seed 7) | SHA-256 |", "|---|---|---|---|---|---|---|---|"]
    for m in mst["models"]:
        L.append(f"| `{m['file']}` | {m['masking_ratio']} | {m['parameters']:,} | {m['thresholds']} | {m['epochs']} | "
                 f"{m['test_accuracy']:.2f}% ({m['test_correct']}/{m['test_total']}) | "
                 f"{m['test_accuracy_random_masks_seed7']:.2f}% | `{m['sha256']}` |")
    r = mst["recipe"]
    short = [m["file"] for m in mst["models"] if m["test_accuracy"] < 97]
    if short:
        L += ["", f"**Below the 97% target:** {', '.join(f'`{f}`' for f in short)} ({r['epochs']} + "
              f"{r['mask_epochs']} epochs); more epochs (`--epochs`, `--mask-epochs`) may close the gap."]
    L += ["",
          "Architecture: the geometry of the float ViTs above (28×28×1, patch 4, 50 tokens, width 64, depth 4, "
          "4 heads, MLP 128, token pooling), with BatchNorm1d (eps 1e-5, statistics per channel over batch and "
          "tokens) in place of norm1/norm2, the final LayerNorm kept, no GELU/ReLU, and a QCFS activation "
          "(L = 16, one learnable threshold `up` per site) after the patch embedding, norm1, q, k, v, the scaled "
          "scores, attn·v, proj, norm2, fc1 and fc2: 41 thresholds. Keys follow the MST code "
          "(`blocks.N.attn.q_if.up`, `blocks.N.shortcut1_if.up`, …); root attributes `num_heads`, `act`=relu "
          "(a no-op after QCFS), `layer_norm_eps`, `batch_norm_eps`, `levels`=16, `masking_ratio`, `global_pool`, "
          "`mean`, `std`.",
          "",
          f"Recipe: start from `vit-mnist-relu.h5` (LayerNorm weight/bias into the BatchNorm weight/bias, as MST "
          f"loads Swin-T with strict=False), each λ at the 99.9th percentile of its site's float activations on "
          f"the calibration images; {r['epochs']} epochs of AdamW (lr {r['lr']}, 1-epoch warm-up, cosine, weight "
          f"decay {r['wd']}, none on biases, norms, cls, pos and λ), batch {r['bs']}, the augmentation of "
          f"`train_mnist.py`, loss CE (label smoothing 0.1) + KD from `vit-mnist-relu.h5` (τ = 2). The masked model "
          f"continues from the first with random spike masking p = {r['mask_ratio']} on the Q, K and score outputs "
          f"(fresh Bernoulli keep-masks every forward, no rescaling) for {r['mask_epochs']} epochs at lr "
          f"{r['mask_lr']}. In eval mode the masks are replaced by their expectation (×(1 − p)); that is the "
          f"accuracy column, and Spikify's QCFS reference. Torch {mst['torch']}, {mst['threads']} thread(s), "
          f"deterministic algorithms, fixed seeds: a rerun with the same thread count reproduces the files bit for "
          f"bit; `--masked-only` retrains only the masked model from the saved first one, with the same result as a "
          f"full run (the committed masked model was made so). Log: `mst_train_log.txt`.",
          ""]
    path = os.path.join(out, "README.md")
    with open(path) as f:
        text = f.read()
    if "## MST models" in text:
        text = text[:text.index("## MST models")]
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n\n" + "\n".join(L))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--mask-epochs", type=int, default=45)
    ap.add_argument("--mask-ratio", type=float, default=0.75)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--mask-lr", type=float, default=5e-4)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--val", type=int, default=0, help="experiments: hold out this many training images")
    ap.add_argument("--refresh-docs", action="store_true", help="only rewrite the MST section of models/README.md")
    ap.add_argument("--masked-only", action="store_true",
                    help="skip the first phase: load the written vit-mnist-mst16.h5 and train only the masked model "
                         "(the same result as the full run: each phase starts from the saved weights with a fresh "
                         "optimiser and its own seeds)")
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    if args.refresh_docs:
        write_readme_section(out)
        return
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()
    logf = open(os.path.join(out, "mst_train_log.txt"), "a" if args.masked_only else "w")

    def log(s):
        print(s, flush=True)
        logf.write(s + "\n")
        logf.flush()

    log(f"torch {torch.__version__} numpy {np.__version__} python {platform.python_version()} "
        f"threads {torch.get_num_threads()}")
    log(f"args {vars(args)}")
    X, y, tr, te, ca = load_split()
    monitor = None
    if args.val:
        perm = np.random.default_rng(2).permutation(tr)
        va, tr = np.sort(perm[:args.val]), np.sort(perm[args.val:])
        xva, yva = preprocess_uint8(X[va], MEAN, STD), torch.from_numpy(y[va])
        monitor = lambda m: f"val-acc {accuracy(m, xva, yva) / len(yva) * 100:.2f}"  # noqa: E731
        ca = ca[~np.isin(ca, va)]
    Xtr01, ytr = to01(X[tr]), torch.from_numpy(y[tr])
    xcal = preprocess_uint8(X[ca], MEAN, STD)
    xte, yte = preprocess_uint8(X[te], MEAN, STD), torch.from_numpy(y[te])
    sd = load_float_relu(out)
    teacher = relu_teacher(sd)

    torch.manual_seed(20)
    model = MSTViT(0.0)
    init_from_float(model, sd)
    init_thresholds(model, xcal)
    entries = []
    phases = [("vit-mnist-mst16.h5", 0.0, args.epochs, args.lr, 200),
              ("vit-mnist-mst16-mask75.h5", args.mask_ratio, args.mask_epochs, args.mask_lr, 201)]
    if args.masked_only:
        model = reload(os.path.join(out, phases[0][0]), 0.0)
        with open(os.path.join(out, "manifest.json")) as f:
            entries = [m for m in json.load(f).get("mst_models", {}).get("models", []) if m["file"] == phases[0][0]]
        if not entries or entries[0]["sha256"] != sha256(os.path.join(out, phases[0][0])):
            entries = [describe(os.path.join(out, phases[0][0]), 0.0, args.epochs, None, xte, yte, log, args.val)]
        phases = phases[1:]
    for name, ratio, epochs, lr, seed in phases:
        t0 = time.time()
        log(f"== {name}: QCFS L={LEVELS}, BatchNorm blocks, masking ratio {ratio} ==")
        model.set_ratio(ratio)
        train(model, teacher, Xtr01, ytr, epochs=epochs, lr=lr, wd=args.wd, bs=args.bs, seed=seed,
              log=log, monitor=monitor)
        model.eval()
        path = os.path.join(out, name)
        write_model(path, model.state_dict(), attrs_for(ratio))
        entries.append(describe(path, ratio, epochs, time.time() - t0, xte, yte, log, args.val))
    if not args.val:
        mpath = os.path.join(out, "manifest.json")
        with open(mpath) as f:
            man = json.load(f)
        man["mst_models"] = {"generator": "tools/train_mst.py", "torch": torch.__version__,
                             "threads": torch.get_num_threads(), "models": entries,
                             "recipe": {k: v for k, v in vars(args).items() if k not in ("out", "val", "masked_only", "refresh_docs")},
                             "total_seconds": round(time.time() - t_start)}
        with open(mpath, "w") as f:
            json.dump(man, f, indent=2)
            f.write("\n")
        write_readme_section(out)
    log(f"total {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
