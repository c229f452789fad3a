"""SpikeZIP-TF style quantized ViT (QANN) for Spikify's Python tooling.

This module is the Python twin of the Swift QANN: it implements exactly the
forward semantics the Swift side implements, and it is used both to compute
reference fixtures (`make_fixtures.py`) and for quantization-aware training
(`train_mnist.py`).

Quantizer (one learnable scalar step `s` per site, L = levels):

    Q(x; s, lo, hi) = clamp(floor(x / s + 0.5), lo, hi) * s
    signed   [lo, hi] = [-L/2, L/2 - 1]
    unsigned [lo, hi] = [0, L - 1]

`x / s` is a true division (never a multiplication by 1/s).

Sites (see Tests/Fixtures/README.md and the SpikeZIP-TF digest):
  tokens = Q_sym(conv(img)) ; prepend cls ; add pos
  block:  h = Q_sym(LN1(x)); q,k,v = qkv(h) per head
          q = Q_sym(q) * hd**-0.5 ; k = Q_sym(k) ; v = Q_sym(v)
          a = Q_uns(softmax(q @ k^T)) ; o = Q_sym(a @ v) ; p = Q_sym(proj(o))
          x = x + p
          h = Q_sym(LN2(x)) ; f = fc1(h)
          ReLU: f = ReLU(Q_uns(f))   GELU: f = GELU(Q_sym(f))
          g = Q_sym(fc2(f)) ; x = x + g
  head:   token: y = Q_sym(norm(x))[:, 0]
          avg:   y = Q_sym(fc_norm(mean(x[:, 1:])))
          logits = head(y)

The module tree is laid out so that `state_dict()` keys are exactly the
SpikeZIP-TF checkpoint keys (`patch_embed.proj.0.weight`,
`blocks.N.attn.quan_q.s`, `blocks.N.mlp.fc2.1.s`, ...).

Training: in `train()` mode the floor uses a straight-through estimator and
the step `s` gets the LSQ gradient scale 1/sqrt(hi * numel(x)). In `eval()`
mode the forward is the exact formula above with no autograd tricks, so
exported fixtures are bit-for-bit the plain formula in float32.
"""

from __future__ import annotations

import math
from typing import Dict

import torch
import torch.nn as nn


def quantize_exact(x: torch.Tensor, s: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """clamp(floor(x / s + 0.5), lo, hi) * s, true division, no gradient tricks."""
    return torch.clamp(torch.floor(x / s + 0.5), lo, hi) * s


def _floor_ste(y: torch.Tensor) -> torch.Tensor:
    return (torch.floor(y) - y).detach() + y


def _grad_scale(s: torch.Tensor, g: float) -> torch.Tensor:
    # value s, gradient scaled by g
    return (s - s * g).detach() + s * g


class Quan(nn.Module):
    """LSQ activation quantizer with a single scalar step `s` (state_dict key `s`, shape ())."""

    def __init__(self, levels: int, signed: bool):
        super().__init__()
        self.levels = int(levels)
        self.signed = bool(signed)
        if signed:
            self.lo, self.hi = -(self.levels // 2), self.levels // 2 - 1
        else:
            self.lo, self.hi = 0, self.levels - 1
        self.s = nn.Parameter(torch.tensor(1.0))
        # Not saved in checkpoints (as in SpikeZIP-TF): set by init_from_data()/loading.
        self.calibrating = False
        self.initialized = False
        self.enabled = True   # disabled -> identity (used to get the float ANN output)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, signed={self.signed}, range=[{self.lo},{self.hi}]"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return x
        if self.calibrating and not self.initialized:
            with torch.no_grad():
                self.s.fill_(float(2.0 * x.detach().abs().mean() / math.sqrt(self.hi)))
                if not self.s.item() > 0:
                    self.s.fill_(1e-3)
            self.initialized = True
        if self.training:
            g = 1.0 / math.sqrt(self.hi * x.numel())
            s = _grad_scale(self.s, g)
            return torch.clamp(_floor_ste(x / s + 0.5), self.lo, self.hi) * s
        return quantize_exact(x, self.s, self.lo, self.hi)


class QAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, qkv_bias: bool, levels: int):
        super().__init__()
        assert dim % num_heads == 0
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.quan_q = Quan(levels, True)
        self.quan_k = Quan(levels, True)
        self.quan_v = Quan(levels, True)
        self.attn_quan = Quan(levels, False)
        self.after_attn_quan = Quan(levels, True)
        self.proj = nn.Linear(dim, dim)
        self.quan_proj = Quan(levels, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = self.quan_q(q) * self.scale
        k = self.quan_k(k)
        v = self.quan_v(v)
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        attn = self.attn_quan(attn)
        o = attn @ v
        o = o.transpose(1, 2).reshape(B, N, C)
        o = self.after_attn_quan(o)
        return self.quan_proj(self.proj(o))


class QMlp(nn.Module):
    def __init__(self, dim: int, hidden: int, act: str, levels: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        if act == "relu":
            self.act = nn.Sequential(Quan(levels, False), nn.ReLU())
        elif act == "gelu":
            self.act = nn.Sequential(Quan(levels, True), nn.GELU())
        else:
            raise ValueError(act)
        self.fc2 = nn.Sequential(nn.Linear(hidden, dim), Quan(levels, True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class QBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_hidden, qkv_bias, act, eps, levels):
        super().__init__()
        self.norm1 = nn.Sequential(nn.LayerNorm(dim, eps=eps), Quan(levels, True))
        self.attn = QAttention(dim, num_heads, qkv_bias, levels)
        self.norm2 = nn.Sequential(nn.LayerNorm(dim, eps=eps), Quan(levels, True))
        self.mlp = QMlp(dim, mlp_hidden, act, levels)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class QPatchEmbed(nn.Module):
    def __init__(self, in_chans, dim, patch, levels):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(in_chans, dim, patch, patch), Quan(levels, True))

    def forward(self, x):
        # quantize the conv output (per element, so the layout does not matter)
        return self.proj(x).flatten(2).transpose(1, 2)


class QViT(nn.Module):
    """SpikeZIP-TF QANN ViT; state_dict keys follow the SpikeZIP-TF layout."""

    def __init__(self, img_size, patch_size, in_chans, num_classes, embed_dim, depth,
                 num_heads, mlp_hidden, qkv_bias=True, act="relu", global_pool="token",
                 eps=1e-6, levels=16):
        super().__init__()
        self.levels = levels
        self.act_name = act
        self.global_pool = global_pool
        self.num_heads = num_heads
        self.eps = eps
        n_patches = (img_size // patch_size) ** 2
        self.patch_embed = QPatchEmbed(in_chans, embed_dim, patch_size, levels)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n_patches + 1, embed_dim))
        self.blocks = nn.Sequential(*[QBlock(embed_dim, num_heads, mlp_hidden, qkv_bias, act, eps, levels)
                                      for _ in range(depth)])
        final = nn.Sequential(nn.LayerNorm(embed_dim, eps=eps), Quan(levels, True))
        if global_pool == "token":
            self.norm = final
        elif global_pool == "avg":
            self.fc_norm = final
        else:
            raise ValueError(global_pool)
        self.head = nn.Linear(embed_dim, num_classes)

    # ---- construction from / comparison with a float timm model ----
    @staticmethod
    def from_timm(model: nn.Module, levels: int = 16) -> "QViT":
        """Build a QANN from a timm VisionTransformer (weights copied; s left at 1.0)."""
        pe = model.patch_embed
        img = pe.img_size[0]
        patch = pe.patch_size[0]
        in_chans = pe.proj.in_channels
        D = model.embed_dim
        blk = model.blocks[0]
        act = "relu" if isinstance(blk.mlp.act, nn.ReLU) else "gelu"
        if act == "gelu":
            assert isinstance(blk.mlp.act, nn.GELU) and blk.mlp.act.approximate == "none"
        gp = model.global_pool
        q = QViT(img, patch, in_chans, model.num_classes, D, len(model.blocks), blk.attn.num_heads,
                 blk.mlp.fc1.out_features, qkv_bias=blk.attn.qkv.bias is not None, act=act,
                 global_pool=gp, eps=blk.norm1.eps, levels=levels)
        res = q.load_state_dict(timm_to_spikezip_keys(model.state_dict()), strict=False)
        assert not res.unexpected_keys, res.unexpected_keys
        assert all(k.endswith(".s") for k in res.missing_keys), res.missing_keys
        return q

    def quantizers(self):
        return [m for m in self.modules() if isinstance(m, Quan)]

    def set_quant(self, enabled: bool):
        for m in self.quantizers():
            m.enabled = enabled

    @torch.no_grad()
    def init_scales(self, x: torch.Tensor):
        """Data-driven LSQ init: s = 2*mean|x|/sqrt(hi) at each site, on one batch."""
        was = self.training
        self.eval()
        for m in self.quantizers():
            m.calibrating, m.initialized = True, False
        self(x)
        for m in self.quantizers():
            m.calibrating = False
        self.train(was)

    def forward_features(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed
        return self.blocks(x)

    def forward(self, x):
        x = self.forward_features(x)
        if self.global_pool == "token":
            y = self.norm(x)[:, 0]
        else:
            y = self.fc_norm(x[:, 1:].mean(dim=1))
        return self.head(y)


_TIMM_TO_SZ = {
    "patch_embed.proj.weight": "patch_embed.proj.0.weight",
    "patch_embed.proj.bias": "patch_embed.proj.0.bias",
    "norm.weight": "norm.0.weight",
    "norm.bias": "norm.0.bias",
    "fc_norm.weight": "fc_norm.0.weight",
    "fc_norm.bias": "fc_norm.0.bias",
}


def timm_to_spikezip_keys(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a timm ViT state_dict to the SpikeZIP-TF QANN layout (weights only, no `s`)."""
    out = {}
    for k, v in sd.items():
        nk = _TIMM_TO_SZ.get(k)
        if nk is None:
            parts = k.split(".")
            if parts[0] == "blocks":
                rest = ".".join(parts[2:])
                pre = f"blocks.{parts[1]}."
                rest = {
                    "norm1.weight": "norm1.0.weight", "norm1.bias": "norm1.0.bias",
                    "norm2.weight": "norm2.0.weight", "norm2.bias": "norm2.0.bias",
                    "mlp.fc2.weight": "mlp.fc2.0.weight", "mlp.fc2.bias": "mlp.fc2.0.bias",
                }.get(rest, rest)
                nk = pre + rest
            else:
                nk = k
        out[nk] = v
    return out


def spikezip_to_timm_keys(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Inverse of timm_to_spikezip_keys, dropping the quantizer steps."""
    inv = {v: k for k, v in _TIMM_TO_SZ.items()}
    out = {}
    for k, v in sd.items():
        if k.endswith(".s"):
            continue
        if k in inv:
            out[inv[k]] = v
            continue
        for a, b in (("norm1.0.", "norm1."), ("norm2.0.", "norm2."), ("mlp.fc2.0.", "mlp.fc2.")):
            k = k.replace(a, b)
        out[k] = v
    return out


def qann_attrs(q: QViT) -> dict:
    return {"num_heads": q.num_heads, "layer_norm_eps": q.eps, "act": q.act_name,
            "global_pool": q.global_pool, "levels": q.levels}


def quant_levels(q: QViT, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Integer levels at every quantizer site for input x (for robustness checks).

    Returns name -> (levels tensor, unclamped distance to the nearest rounding
    boundary in units of s)."""
    out = {}
    hooks = []
    names = {m: n for n, m in q.named_modules() if isinstance(m, Quan)}

    def hook(m, inp, outp):
        x_in = inp[0]
        y = x_in / m.s + 0.5
        lv = torch.clamp(torch.floor(y), m.lo, m.hi)
        frac = y - torch.floor(y)
        dist = torch.minimum(frac, 1 - frac)
        inside = (torch.floor(y) >= m.lo) & (torch.floor(y) <= m.hi)
        out[names[m]] = (lv, dist[inside])

    for m in names:
        hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            q(x)
    finally:
        for h in hooks:
            h.remove()
    return out
