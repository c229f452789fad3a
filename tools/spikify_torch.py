#!/usr/bin/env python3
"""Run a Spikify converted model (`spikify convert`, format_version 2) in PyTorch, step by step.

    spikify_torch.py CONVERTED.h5 DATA.h5 [--limit N] [--timesteps T] [--device cpu|cuda]
                     [--report SPIKIFY_REPORT.json] [--out RESULT.json] [--batch-size B] [--threads K]

The file is the specification (docs/converted-format.md, docs/methods/spikezip.md): /config, /graph and
/tensors, plus the method group (/spikezip). Every operator kind has a small torch implementation with Spikify's
semantics: values carry totals, and each operator computes its output total from its inputs' totals with the
reference network's arithmetic (ST-BIF+ neurons keep the closed-form membrane u = X̂/θ + 0.5 − S). The QANN is the
same graph evaluated once with each neuron replaced by its quantizer Q(x) = clamp(floor(x/θ + 0.5), lo, hi)·θ; the
ANN is the graph with the neurons removed. Prints and writes, per step: accuracy, agreement with the QANN and the
ANN, spikes; with --report, compares them with `spikify eval --report` of the same run and exits 1 on a mismatch
of the settled predictions (see --min-agreement). Python tooling only: Spikify never needs it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time

import numpy as np

KNOWN_FORMAT_VERSIONS = {2}
SUPPORTED_METHODS = {"spikezip"}


class FormatError(Exception):
    """A converted or data file this runner cannot use; the message names the file and the key."""


# --------------------------------------------------------------------------------------------------------------
# Reading


def _str(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _str(v.item())
    return str(v)


def _json_dataset(f, path: str, key: str):
    if key not in f:
        raise FormatError(f"{path}: missing /{key}")
    raw = f[key][()]
    try:
        return json.loads(_str(raw))
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"{path}: /{key} is not JSON ({e})") from None


class ConvertedModel:
    """Everything the runner reads from a converted file, validated."""

    def __init__(self, path: str):
        import h5py

        self.path = path
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise FormatError(f"{path}: not a readable HDF5 file ({e})") from None
        with f:
            attrs = f.attrs
            if "format" not in attrs or _str(attrs["format"]) != "spikify-snn":
                got = _str(attrs["format"]) if "format" in attrs else "none"
                raise FormatError(f"{path}: root attribute 'format' is {got!r}, expected 'spikify-snn' "
                                  "(write the file with `spikify convert`)")
            if "format_version" not in attrs:
                raise FormatError(f"{path}: root attribute 'format_version' is missing")
            version = int(np.asarray(attrs["format_version"]).item())
            if version not in KNOWN_FORMAT_VERSIONS:
                raise FormatError(f"{path}: format_version {version} is not known to this runner (it reads "
                                  f"{sorted(KNOWN_FORMAT_VERSIONS)}); convert the source model again with a "
                                  "Spikify that writes version 2, or update tools/spikify_torch.py")
            self.format_version = version
            self.method = _str(attrs.get("method", ""))
            if self.method not in SUPPORTED_METHODS:
                raise FormatError(f"{path}: root attribute 'method' is {self.method!r}; this runner knows "
                                  f"{sorted(SUPPORTED_METHODS)}")
            self.config = _json_dataset(f, path, "config")
            self.graph = _json_dataset(f, path, "graph")
            for key in ("values", "nodes", "input", "output", "semantics"):
                if key not in self.graph:
                    raise FormatError(f"{path}: /graph has no {key!r}")
            self.tensors = {}
            for node in self.graph["nodes"]:
                for role, name in node.get("tensors", {}).items():
                    if name in self.tensors:
                        continue
                    key = f"tensors/{name}"
                    if key not in f:
                        raise FormatError(f"{path}: node {node.get('kind')!r} names tensor {name!r} (role "
                                          f"{role!r}) but /tensors/{name} is missing")
                    t = np.asarray(f[key][()], dtype=np.float32)
                    if not np.isfinite(t).all():
                        raise FormatError(f"{path}: /tensors/{name} has non-finite values")
                    self.tensors[name] = t
            self.sites = {}
            self.burst = 1
            if self.method == "spikezip":
                if "spikezip" not in f:
                    raise FormatError(f"{path}: method 'spikezip' but group /spikezip is missing")
                g = f["spikezip"]
                self.levels = int(np.asarray(g.attrs.get("levels", 0)).item())
                self.steps = _str(g.attrs.get("steps", ""))
                self.burst = int(np.asarray(g.attrs.get("burst", 1)).item())
                if "sites" not in g:
                    raise FormatError(f"{path}: /spikezip/sites is missing")
                for name, s in g["sites"].items():
                    try:
                        self.sites[name] = {k: float(np.asarray(s.attrs[k]).item())
                                            for k in ("step", "lower", "upper", "signed")}
                    except KeyError as e:
                        raise FormatError(f"{path}: /spikezip/sites/{name} has no attribute {e}") from None
        self._validate()

    def _validate(self):
        g, path = self.graph, self.path
        values = g["values"]
        written = {g["input"]}
        for i, node in enumerate(g["nodes"]):
            kind = node.get("kind")
            if kind not in OPERATORS:
                raise FormatError(f"{path}: /graph node {i} has kind {kind!r}, which this runner does not know "
                                  f"(known: {', '.join(sorted(OPERATORS))})")
            for v in node["inputs"]:
                if v not in written:
                    raise FormatError(f"{path}: /graph node {i} ({kind}) reads value {v} before it is written")
            for v in node["outputs"]:
                if not 0 <= v < len(values) or v in written:
                    raise FormatError(f"{path}: /graph node {i} ({kind}) writes value {v} twice or out of range")
                written.add(v)
            if kind == "spikezip.stbif":
                site = node.get("site")
                if site not in self.sites:
                    raise FormatError(f"{path}: /graph node {i} uses site {site!r}, missing from /spikezip/sites")
                a, s = node["attributes"], self.sites[site]
                if np.float32(a["threshold"]) != np.float32(s["step"]) or a["lower"] != s["lower"] \
                        or a["upper"] != s["upper"]:
                    raise FormatError(f"{path}: /graph node {i} (site {site}) disagrees with /spikezip/sites/{site}")
        if g["output"] not in written:
            raise FormatError(f"{path}: /graph output value {g['output']} is never written")
        sem = g["semantics"]
        coding = sem.get("inputCoding", {})
        if not isinstance(coding, dict) or set(coding) - {"analogOnce", "analogEveryStep"} or not coding:
            raise FormatError(f"{path}: /graph semantics.inputCoding {coding!r} is not supported here "
                              "(analogOnce, analogEveryStep)")
        if sem.get("readout") not in ("sum", "mean"):
            raise FormatError(f"{path}: /graph semantics.readout {sem.get('readout')!r} (expected sum or mean)")


def config_value(config: dict, key: str):
    """A /config entry by its documented snake_case name, or the camelCase key Spikify writes (imageSize)."""
    camel = key.split("_")[0] + "".join(w.title() for w in key.split("_")[1:])
    for k in (key, camel):
        if k in config:
            return config[k]
    raise FormatError(f"/config has no {key!r} (nor {camel!r})")


def read_data(path: str, config: dict, limit: int | None):
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise FormatError(f"{path}: not a readable HDF5 file ({e})") from None
    with f:
        if "images" not in f:
            raise FormatError(f"{path}: dataset 'images' is missing")
        d = f["images"]
        n = d.shape[0] if limit is None else min(limit, d.shape[0])
        raw = d[:n]
        labels = np.asarray(f["labels"][:n], dtype=np.int64) if "labels" in f else None
    c, size = int(config_value(config, "channels")), int(config_value(config, "image_size"))
    if raw.dtype == np.uint8:
        if raw.ndim != 4 or raw.shape[1:] != (size, size, c):
            raise FormatError(f"{path}: 'images' uint8 has shape {raw.shape}, expected [N, {size}, {size}, {c}]")
        mean = np.asarray(config_value(config, "mean"), dtype=np.float32).reshape(1, c, 1, 1)
        std = np.asarray(config_value(config, "std"), dtype=np.float32).reshape(1, c, 1, 1)
        x = raw.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)  # float32 x/255 as Spikify
        x = (x - mean) / std
    elif raw.dtype == np.float32:
        if raw.ndim != 4 or raw.shape[1:] != (c, size, size):
            raise FormatError(f"{path}: 'images' float32 has shape {raw.shape}, expected [N, {c}, {size}, {size}]")
        x = raw
    else:
        raise FormatError(f"{path}: 'images' has dtype {raw.dtype}; expected uint8 [N,H,W,C] or float32 [N,C,H,W]")
    return np.ascontiguousarray(x.reshape(x.shape[0], c, size * size), dtype=np.float32), labels


# --------------------------------------------------------------------------------------------------------------
# Operators on totals. `x` are the input totals, each [B, rows, width]; each returns the output total.


def _patchify(m, node, xs):
    a = node["attributes"]
    c, size, p = a["channels"], a["image_size"], a["patch"]
    x = xs[0].reshape(-1, c, size, size)
    g = size // p
    x = x[:, :, : g * p, : g * p].reshape(-1, c, g, p, g, p)  # b c gy dy gx dx
    return x.permute(0, 2, 4, 1, 3, 5).reshape(-1, g * g, c * p * p).contiguous()


def _linear(m, node, xs):
    import torch

    w = m.t(node, "weight")
    b = m.t(node, "bias", optional=True)
    return torch.nn.functional.linear(xs[0], w, b)  # bias enters the total (once), as Spikify's W·X̂ + b


def _embed_tokens(m, node, xs):
    import torch

    pos = m.t(node, "position")
    cls = m.t(node, "class_token", optional=True)
    tokens = xs[0]
    if cls is not None:
        head = (cls + pos[0]).expand(tokens.shape[0], 1, -1)
        return torch.cat([head, tokens + pos[1:]], dim=1)
    return tokens + pos


def _add(m, node, xs):
    return xs[0] + xs[1]


def _select_token(m, node, xs):
    i = node["attributes"]["index"]
    return xs[0][:, i : i + 1, :].contiguous()


def _mean_tokens(m, node, xs):
    import torch

    f = node["attributes"]["from"]
    x = xs[0]
    n = x.shape[1]
    acc = torch.zeros_like(x[:, 0:1, :])
    for t in range(f, n):  # summed in token order, then scaled, as Spikify
        acc = acc + x[:, t : t + 1, :]
    return acc * (np.float32(1) / np.float32(n - f))


def _lane_sums(x):
    """Four running sums over the last axis (element i into lane i mod 4, in order; the tail into lane 0), the
    summation order of Spikify's row kernels (Kernels.layerNorm / softmax), so that sums round alike."""
    w = x.shape[-1]
    whole = w - w % 4
    lanes = x[..., 0:4].clone() if whole else x[..., 0:1].new_zeros(x.shape[:-1] + (4,))
    for i in range(4, whole, 4):
        lanes = lanes + x[..., i : i + 4]
    s = [lanes[..., k : k + 1] for k in range(4)]
    for i in range(whole, w):
        s[0] = s[0] + x[..., i : i + 1]
    return s


def _layer_norm(m, node, xs):
    import torch

    x = xs[0]
    w = np.float32(x.shape[-1])
    gamma, beta = m.t(node, "weight"), m.t(node, "bias")
    eps = np.float32(node["attributes"]["eps"])
    s0, s1, s2, s3 = _lane_sums(x)
    mean = (((s0 + s1) + s2) + s3) / w
    d = x - mean
    v0, v1, v2, v3 = _lane_sums(d * d)
    var = (((v0 + v1) + v2) + v3) / w
    inv = 1 / torch.sqrt(var + eps)
    return d * inv * gamma + beta


_F = np.float32


def _exp(x):
    """exp as Spikify computes it (Elementary.exp: Cody–Waite reduction and a degree-5 polynomial, every
    operation rounded to float32), so softmax matches where torch.exp would differ in the last bit."""
    import torch

    c = torch.clamp(x, min=-87.33654, max=88.0)
    t = c * _F(1.44269504088896341) + _F(12582912.0)
    n = t - _F(12582912.0)
    r = c - n * _F(0.693359375) + n * _F(2.12194440e-4)
    p = torch.full_like(r, _F(1.9875691500e-4))
    for k in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1):
        p = p * r + _F(k)
    er = p * r * r + r + _F(1)
    exponent = t.contiguous().view(torch.int32) - 0x4B400000 + 127
    return er * (exponent << 23).view(torch.float32)


def _softmax(m, node, xs):
    x = xs[0]
    e = _exp(x - x.amax(-1, keepdim=True))
    s0, s1, s2, s3 = _lane_sums(e)
    return e * (1 / ((s0 + s1) + (s2 + s3)))


def _activation(m, node, xs):
    import torch

    kind = node["attributes"]["activation"]
    x = xs[0]
    if kind == "relu":
        return torch.clamp_min(x, 0)
    if kind == "gelu":  # exact erf GELU, as torch.nn.GELU() and Spikify
        return 0.5 * x * (1 + torch.erf(x * np.float32(0.70710678118654752440)))
    raise FormatError(f"{m.path}: spikezip.activation {kind!r} is not known (gelu, relu)")


def _attention_scores(m, node, xs):
    q, k = xs
    h = node["attributes"]["heads"]
    scale = np.float32(node["attributes"]["scale"])
    b, n, d = q.shape
    qh = (q * scale).reshape(b, n, h, d // h).transpose(1, 2)  # b h n hd
    kh = k.reshape(b, n, h, d // h).transpose(1, 2)
    return (qh @ kh.transpose(-1, -2)).reshape(b, h * n, n)


def _attention_values(m, node, xs):
    a, v = xs
    h = node["attributes"]["heads"]
    b, n, d = v.shape
    ah = a.reshape(b, h, n, n)
    vh = v.reshape(b, n, h, d // h).transpose(1, 2)
    return (ah @ vh).transpose(1, 2).reshape(b, n, d).contiguous()


OPERATORS = {
    "patchify": _patchify,
    "linear": _linear,
    "embed_tokens": _embed_tokens,
    "add": _add,
    "select_token": _select_token,
    "mean_tokens": _mean_tokens,
    "spikezip.stbif": None,  # stateful: handled by the runner (neuron, quantizer or identity)
    "spikezip.layer_norm": _layer_norm,
    "spikezip.softmax": _softmax,
    "spikezip.activation": _activation,
    "spikezip.attention_scores": _attention_scores,
    "spikezip.attention_values": _attention_values,
}


# --------------------------------------------------------------------------------------------------------------
# The network


class TorchSNN:
    def __init__(self, model: ConvertedModel, device: str):
        import torch

        self.m = model
        self.path = model.path
        self.device = device
        self.nodes = model.graph["nodes"]
        self.values = model.graph["values"]
        self.input, self.output = model.graph["input"], model.graph["output"]
        self.sem = model.graph["semantics"]
        self.weights = {k: torch.from_numpy(v).to(device) for k, v in model.tensors.items()}
        self.neurons = [i for i, n in enumerate(self.nodes) if n["kind"] == "spikezip.stbif"]
        self.sites = [self.nodes[i].get("site", f"node{i}") for i in self.neurons]

    def t(self, node, role, optional=False):
        name = node.get("tensors", {}).get(role)
        if name is None:
            if optional:
                return None
            raise FormatError(f"{self.path}: node {node['kind']!r} has no tensor with role {role!r}")
        return self.weights[name]

    def _shape(self, v, batch):
        info = self.values[v]
        return (batch, info["rows"], info["width"])

    def forward(self, images, neuron: str):
        """One pass on totals with each neuron replaced by its quantizer ('qann') or removed ('ann')."""
        import torch

        totals = {self.input: images}
        for node in self.nodes:
            xs = [totals[v] for v in node["inputs"]]
            if node["kind"] == "spikezip.stbif":
                a = node["attributes"]
                theta = np.float32(a["threshold"])
                if neuron == "ann":  # an unsigned quantizer stands for a ReLU (fc1) or is a no-op (softmax)
                    y = xs[0] if a["lower"] < 0 else torch.clamp_min(xs[0], 0)
                else:
                    s = torch.clamp(torch.floor(xs[0] / theta + np.float32(0.5)), a["lower"], a["upper"])
                    y = s * theta
            else:
                y = OPERATORS[node["kind"]](self, node, xs)
            totals[node["outputs"][0]] = y.reshape(self._shape(node["outputs"][0], images.shape[0]))
        return totals[self.output].reshape(images.shape[0], -1)

    def run(self, images, timesteps: int):
        """Simulates the SNN; returns per-step predictions [T, B], per-site spikes [sites, T] (summed over the
        batch), the settle steps (t of the first silent step t ≥ 1, or -1) and the logits after the last step."""
        import torch

        batch = images.shape[0]
        readout_mean = self.sem["readout"] == "mean"
        every_step = "analogEveryStep" in self.sem["inputCoding"]
        totals = {}
        changed = {}
        counts = {}
        for i in self.neurons:
            counts[i] = torch.zeros(self._shape(self.nodes[i]["inputs"][0], batch), dtype=torch.int32,
                                    device=self.device)
        preds = np.full((timesteps, batch), -1, dtype=np.int64)
        site_spikes = np.zeros((len(self.neurons), timesteps), dtype=np.int64)
        site_events = np.zeros((len(self.neurons), timesteps), dtype=np.int64)
        settle = np.full(batch, -1, dtype=np.int64)
        final = torch.zeros(batch, self.values[self.output]["width"], device=self.device)
        steps_run = 0
        for t in range(timesteps):
            if t == 0:
                totals[self.input], changed[self.input] = images, True
            elif every_step:
                totals[self.input], changed[self.input] = totals[self.input] + images, True
            else:
                changed[self.input] = False
            spikes = torch.zeros(batch, dtype=torch.int64, device=self.device)
            for j, node in enumerate(self.nodes):
                out = node["outputs"][0]
                if t > 0 and not any(changed[v] for v in node["inputs"]) and node["kind"] != "spikezip.stbif":
                    changed[out] = False
                    continue
                xs = [totals[v] for v in node["inputs"]]
                if node["kind"] == "spikezip.stbif":
                    if t > 0 and not changed[node["inputs"][0]] and not changed.get(("fired", j), True):
                        # Input unchanged and the neuron was silent at its last step: it stays silent.
                        changed[out] = False
                        continue
                    a = node["attributes"]
                    theta = np.float32(a["threshold"])
                    lo, hi, b = a["lower"], a["upper"], a.get("burst", 1)
                    c = counts[j]
                    cf = c.to(torch.float32)
                    # The level it settles on, clamp(floor(x/s + 0.5)) on the QANN's float, and the spike
                    # clamp(L − S, −B, B); a NaN input never fires (docs/latency.md).
                    d = xs[0] / theta + np.float32(0.5)
                    level = torch.clamp(torch.floor(d), float(lo), float(hi))
                    k = torch.clamp(level - cf, -float(b), float(b))
                    k = torch.where(torch.isnan(d), torch.zeros_like(k), k)
                    ki = k.to(torch.int32)
                    c = c + ki
                    counts[j] = c
                    totals[out] = c.to(torch.float32) * theta
                    mag = ki.abs().reshape(batch, -1).to(torch.int64)
                    per_sample = mag.sum(1)
                    spikes += per_sample
                    n = self.neurons.index(j)
                    site_spikes[n, t] = int(per_sample.sum())
                    site_events[n, t] = int((mag != 0).sum())
                    fired = bool(site_spikes[n, t] != 0)
                    changed[out] = fired
                    changed[("fired", j)] = fired
                else:
                    totals[out] = OPERATORS[node["kind"]](self, node, xs).reshape(self._shape(out, batch))
                    changed[out] = True
            logits = totals[self.output].reshape(batch, -1)
            if readout_mean:
                logits = logits * np.float32(1.0 / (t + 1))
            active = torch.from_numpy(settle < 0).to(self.device)
            final = torch.where(active[:, None], logits, final)
            p = final.argmax(1).cpu().numpy()  # settled samples keep their settled output
            preds[t] = p
            steps_run = t + 1
            quiet = (spikes == 0).cpu().numpy()
            if t >= 1:
                newly = quiet & (settle < 0)
                settle[newly] = t
            if (settle >= 0).all():
                preds[t + 1 :] = p
                break
        return preds, site_spikes, site_events, settle, final, steps_run


# --------------------------------------------------------------------------------------------------------------
# Report comparison


def compare_with_report(path: str, result: dict) -> dict:
    try:
        with open(path) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        raise FormatError(f"{path}: cannot read the Spikify report ({e})") from None
    snn = rep.get("snn")
    if not isinstance(snn, dict):
        raise FormatError(f"{path}: report has no 'snn' section")
    out = {"report": path, "samples_equal": rep.get("samples") == result["samples"]}
    steps = len(result["per_step"])
    rsteps = len(snn.get("timesteps", []))
    out["steps_compared"] = min(steps, rsteps)

    def series(key_report, key_result):
        theirs = snn.get(key_report)
        if theirs is None:
            return None
        mine = [s[key_result] for s in result["per_step"]]
        n = min(len(theirs), len(mine))
        diffs = [abs(mine[i] - theirs[i]) for i in range(n)]
        return {"equal_every_step": all(d < 1e-9 for d in diffs), "max_abs_difference": max(diffs, default=0.0),
                "first_differing_step": next((i + 1 for i, d in enumerate(diffs) if d >= 1e-9), None)}

    out["accuracy"] = series("accuracy", "accuracy") if result["per_step"][0].get("accuracy") is not None else None
    out["agreement_with_qann"] = series("agreement_with_qann", "agreement_with_qann")
    out["agreement_with_ann"] = series("agreement_with_ann", "agreement_with_ann")
    total = snn.get("spikes_per_step", [])
    mine_total = [s["spikes"] for s in result["per_step"]]
    n = min(len(total), len(mine_total))
    out["spikes_per_step"] = {
        "equal_every_step": total[:n] == mine_total[:n],
        "max_abs_difference": max((abs(a - b) for a, b in zip(total[:n], mine_total[:n])), default=0),
    }
    sites = {s["site"]: s.get("spikes_per_step", []) for s in rep.get("sites", [])}
    equal, worst, worst_site, missing = 0, 0, None, []
    for site, mine in result["sites"].items():
        theirs = sites.get(site)
        if theirs is None:
            missing.append(site)
            continue
        k = min(len(theirs), len(mine))
        d = max((abs(a - b) for a, b in zip(theirs[:k], mine[:k])), default=0)
        if d == 0:
            equal += 1
        elif d > worst:
            worst, worst_site = d, site
    out["sites"] = {"compared": len(result["sites"]) - len(missing), "equal_every_step": equal,
                    "largest_difference": worst, "largest_difference_site": worst_site, "missing": missing}
    settle = snn.get("settle_steps", {})
    out["settle_steps"] = {"spikify": {k: settle.get(k) for k in ("min", "median", "max", "unsettled")},
                           "torch": {k: result["settle_steps"].get(k) for k in ("min", "median", "max", "unsettled")}}
    out["spikify_max_abs_logit_difference_to_qann"] = snn.get("max_abs_logit_difference_to_qann")
    acc_q = rep.get("qann", {}).get("accuracy") if isinstance(rep.get("qann"), dict) else None
    out["qann_accuracy"] = {"spikify": acc_q, "torch": result["qann"]["accuracy"]}
    out["ann_accuracy"] = {"spikify": rep.get("ann", {}).get("accuracy"), "torch": result["ann"]["accuracy"]}
    return out


# --------------------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="converted model (spikify convert)")
    ap.add_argument("data", help="dataset: images uint8 [N,H,W,C] or float32 [N,C,H,W], optional labels")
    ap.add_argument("--limit", type=int, default=None, help="only the first N images")
    ap.add_argument("--timesteps", type=int, default=64, help="steps T (default 64); stops early when all are quiet")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--report", help="Spikify's `eval --report` JSON of the same run, to compare against")
    ap.add_argument("--out", help="write the result (JSON) here")
    ap.add_argument("--min-agreement", type=float, default=0.99,
                    help="with --report: exit 1 when |accuracy/agreement difference| at any step exceeds "
                         "1 − this, or the settled figures or per-site spikes differ (default 0.99)")
    ap.add_argument("--ann-logits", help="`spikify predict --out` logits of the source checkpoint: report the max "
                    "|Δlogit| of the ANN rebuilt here from the graph against Spikify's")
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, args.threads))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch.cuda.is_available() is False on this machine", file=sys.stderr)
        return 2
    # float32 GEMMs, not TF32, on GPUs that have it (the totals must be float32 to settle on the QANN's levels).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if args.timesteps < 1:
        print("error: --timesteps must be at least 1", file=sys.stderr)
        return 2
    try:
        model = ConvertedModel(args.model)
        images, labels = read_data(args.data, model.config, args.limit)
    except FormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    net = TorchSNN(model, args.device)
    n, T = images.shape[0], args.timesteps
    preds = np.zeros((T, n), dtype=np.int64)
    site_spikes = np.zeros((len(net.neurons), T), dtype=np.int64)
    site_events = np.zeros((len(net.neurons), T), dtype=np.int64)
    settle = np.zeros(n, dtype=np.int64)
    qann_pred = np.zeros(n, dtype=np.int64)
    ann_pred = np.zeros(n, dtype=np.int64)
    ann_logits = []
    max_dlogit = 0.0
    bitwise_equal = 0
    steps_simulated = 0
    snn_seconds = 0.0
    with torch.no_grad():
        for s in range(0, n, args.batch_size):
            x = torch.from_numpy(images[s : s + args.batch_size]).to(args.device)
            q = net.forward(x, "qann")
            a = net.forward(x, "ann")
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            p, ss, se, st, final, run = net.run(x, T)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            snn_seconds += time.perf_counter() - start
            b = x.shape[0]
            preds[:, s : s + b] = p
            site_spikes += ss
            site_events += se
            settle[s : s + b] = st
            steps_simulated += run * b
            qann_pred[s : s + b] = q.argmax(1).cpu().numpy()
            ann_pred[s : s + b] = a.argmax(1).cpu().numpy()
            ann_logits.append(a.cpu().numpy())
            settled = torch.from_numpy(st >= 0).to(args.device)
            if bool(settled.any()):
                d = (final[settled] - q[settled]).abs()
                max_dlogit = max(max_dlogit, float(d.max()))
                bitwise_equal += int((final[settled] == q[settled]).all(1).sum())
    settled_steps = settle[settle >= 0]
    per_step = []
    for t in range(T):
        row = {"t": t + 1,
               "accuracy": float((preds[t] == labels).mean()) if labels is not None else None,
               "agreement_with_qann": float((preds[t] == qann_pred).mean()),
               "agreement_with_ann": float((preds[t] == ann_pred).mean()),
               "spikes": int(site_spikes[:, t].sum())}
        per_step.append(row)
    result = {
        "model": args.model, "data": args.data, "samples": n, "timesteps": T, "device": args.device,
        "torch_version": torch.__version__, "threads": torch.get_num_threads(), "burst": model.burst,
        "ann": {"accuracy": float((ann_pred == labels).mean()) if labels is not None else None},
        "qann": {"accuracy": float((qann_pred == labels).mean()) if labels is not None else None,
                 "agreement_with_ann": float((qann_pred == ann_pred).mean())},
        "per_step": per_step,
        "settle_steps": {"min": int(settled_steps.min()) if len(settled_steps) else None,
                         "median": float(np.median(settled_steps)) if len(settled_steps) else None,
                         "max": int(settled_steps.max()) if len(settled_steps) else None,
                         "unsettled": int((settle < 0).sum())},
        "settled": {"max_abs_logit_difference_to_qann": max_dlogit,
                    "samples_bit_identical_to_qann": bitwise_equal,
                    "agreement_with_qann": float((preds[-1] == qann_pred).mean())},
        "spikes_per_image": float(site_spikes.sum() / max(n, 1)),
        "seconds_per_image": snn_seconds / max(n, 1),
        "mean_steps_run": steps_simulated / max(n, 1),
        "sites": {site: site_spikes[i].tolist() for i, site in enumerate(net.sites)},
        "site_events": {site: site_events[i].tolist() for i, site in enumerate(net.sites)},
    }
    if args.ann_logits:
        import h5py

        try:
            with h5py.File(args.ann_logits, "r") as f:
                theirs = np.asarray(f["logits"][:n], dtype=np.float32)
        except (OSError, KeyError) as e:
            print(f"error: {args.ann_logits}: cannot read dataset 'logits' ({e})", file=sys.stderr)
            return 2
        mine = np.concatenate(ann_logits)
        if theirs.shape != mine.shape:
            print(f"error: {args.ann_logits}: 'logits' has shape {theirs.shape}, expected {mine.shape}", file=sys.stderr)
            return 2
        result["ann"]["max_abs_logit_difference_to_spikify"] = float(np.abs(mine - theirs).max())
        result["ann"]["agreement_with_spikify"] = float((mine.argmax(1) == theirs.argmax(1)).mean())
        print(f"ANN rebuilt from the graph vs Spikify's ANN ({args.ann_logits}): max |Δlogit| "
              f"{result['ann']['max_abs_logit_difference_to_spikify']:.3g}, top-1 agreement "
              f"{100 * result['ann']['agreement_with_spikify']:.1f}%")
    if not args.quiet:
        print(f"{'t':>4} {'accuracy':>9} {'agree QANN':>11} {'agree ANN':>10} {'spikes':>10}")
        last = None
        for r in per_step:
            key = (r["accuracy"], r["agreement_with_qann"], r["spikes"])
            if key == last and r["spikes"] == 0:
                continue
            last = key
            acc = "-" if r["accuracy"] is None else f"{100 * r['accuracy']:.1f}%"
            print(f"{r['t']:>4} {acc:>9} {100 * r['agreement_with_qann']:>10.1f}% "
                  f"{100 * r['agreement_with_ann']:>9.1f}% {r['spikes']:>10}")
    acc = result["qann"]["accuracy"]
    print(f"{n} images, {T} steps max: QANN accuracy {'-' if acc is None else f'{100 * acc:.1f}%'}; settle steps "
          f"{result['settle_steps']['min']}/{result['settle_steps']['median']}/{result['settle_steps']['max']} "
          f"(min/median/max), unsettled {result['settle_steps']['unsettled']}; settled max |Δlogit| vs QANN "
          f"{max_dlogit:.3g} ({bitwise_equal}/{len(settled_steps)} bit-identical); "
          f"{1000 * result['seconds_per_image']:.1f} ms/image on {args.device} ({torch.get_num_threads()} thread(s))")
    status = 0
    if args.report:
        try:
            cmp = compare_with_report(args.report, result)
        except FormatError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        result["comparison"] = cmp
        tol = 1 - args.min_agreement
        problems = []
        if not cmp["samples_equal"]:
            problems.append("the report covers a different number of samples")
        for key in ("accuracy", "agreement_with_qann", "agreement_with_ann"):
            c = cmp.get(key)
            if c is None:
                continue
            print(f"vs Spikify {key}: " + ("equal at every step" if c["equal_every_step"] else
                  f"max |difference| {100 * c['max_abs_difference']:.2f} points (first at t = {c['first_differing_step']})"))
            if c["max_abs_difference"] > tol + 1e-12:
                problems.append(f"{key} differs by more than {100 * tol:.2f} points at some step")
        s = cmp["sites"]
        print(f"vs Spikify spikes per step: {s['equal_every_step']}/{s['compared']} sites equal at every step"
              + ("" if s["largest_difference"] == 0 else
                 f"; largest difference {s['largest_difference']} spikes ({s['largest_difference_site']})")
              + ("" if not s["missing"] else f"; sites missing in the report: {s['missing']}"))
        print(f"vs Spikify settle steps: spikify {cmp['settle_steps']['spikify']}, torch {cmp['settle_steps']['torch']}")
        # The settled state must match: final accuracy and agreement with the QANN.
        final_mine = per_step[-1]
        rep_snn = json.load(open(args.report))["snn"]
        for key in ("accuracy", "agreement_with_qann"):
            theirs = (rep_snn.get(key) or [None])[-1]
            if theirs is not None and final_mine[key] is not None and abs(theirs - final_mine[key]) > 1e-9:
                problems.append(f"settled {key} differs: torch {final_mine[key]} vs Spikify {theirs}")
        with open(args.model, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        rep = json.load(open(args.report))
        theirs = (rep.get("provenance") or {}).get("model_sha256")
        if theirs is not None and theirs != digest:
            problems.append(f"the report is of another model file (SHA-256 {theirs[:12]}…, this file {digest[:12]}…)")
        if rep.get("burst") is not None and rep["burst"] != model.burst:
            problems.append(f"the report ran burst {rep['burst']}, the file has burst {model.burst}")
        if cmp["settle_steps"]["spikify"].get("unsettled") != cmp["settle_steps"]["torch"].get("unsettled"):
            problems.append("a different number of samples settled")
        if problems:
            status = 1
            for p in problems:
                print(f"MISMATCH: {p}", file=sys.stderr)
        else:
            print(f"interop check passed (tolerance {100 * tol:.2f} points per step; settled figures equal)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
