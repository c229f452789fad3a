#!/usr/bin/env python3
"""Structured mutation harness for Spikify's readers of untrusted input (issue 15; docs/reliability.md).

Where libFuzzer (`make fuzz`) flips bytes, this harness makes the edits a person or a broken tool makes: it
deletes, renames, reshapes and retypes keys, sets absurd attributes, writes NaN and Inf into tensors, tampers with
the converted graph (operator attributes, inputs and outputs, order, duplicates, semantics, site data), and passes
absurd command-line values. Each mutant is run through the `spikify` CLI with a time limit. A run passes when it
ends with exit 0 (the edit did not matter) or with a clean error (exit 1-127 and a message naming the file or the
flag); it fails on a signal, a Swift runtime trap, a hang, or a temporary file left behind.

  tools/mutate_inputs.py --spikify .build/debug/spikify --count 20 --seed 1

Seeded: the same seed and count make the same mutants. Needs h5py and numpy only.
"""
import argparse
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKPOINT = os.path.join(ROOT, "Tests/Fixtures/timm_gelu_token.h5")
DATA = os.path.join(ROOT, "Tests/Fixtures/timm_gelu_token.data.h5")
QANN = os.path.join(ROOT, "Tests/Fixtures/spikezip_qann_relu.h5")
QANN_DATA = os.path.join(ROOT, "Tests/Fixtures/spikezip_qann_relu.data.h5")
ABSURD_NUMBERS = [0, -1, 2 ** 31, 2 ** 62, -(2 ** 63), 1e300, -1e300, float("nan"), float("inf"), 0.5, 1e-30]
CRASH_MARKERS = ("Program crashed", "Fatal error", "Crash", "AddressSanitizer", "Segmentation fault", "Illegal instruction")


def datasets_and_groups(f):
    found = []
    f.visititems(lambda name, obj: found.append((name, obj)))
    return found


def attribute_owners(f):
    owners = [("/", f)] + [(name, obj) for name, obj in datasets_and_groups(f)]
    return [(name, obj, key) for name, obj in owners for key in obj.attrs.keys()]


# --- mutations of any HDF5 file ------------------------------------------------------------------------------------
def delete_key(f, rng):
    name, _ = rng.choice(datasets_and_groups(f))
    del f[name]
    return f"delete {name}"


def rename_key(f, rng):
    name, _ = rng.choice(datasets_and_groups(f))
    parent, _, leaf = name.rpartition("/")
    variants = [leaf + "_", leaf.upper(), leaf.replace(".1.", ".01."), leaf.replace("0", "00"), "x" + leaf[1:]]
    target = (parent + "/" if parent else "") + rng.choice([v for v in variants if v] or ["renamed"])
    if target in f:
        return "rename (no-op)"
    f.move(name, target)
    return f"rename {name} -> {target}"


def pick_dataset(f, rng, numeric=True):
    candidates = [(n, o) for n, o in datasets_and_groups(f) if isinstance(o, h5py.Dataset)
                  and (not numeric or o.dtype.kind in "fiu")]
    return rng.choice(candidates) if candidates else (None, None)


def replace(f, name, data):
    attrs = dict(f[name].attrs)
    del f[name]
    f[name] = data
    for k, v in attrs.items():
        f[name].attrs[k] = v


def reshape_key(f, rng):
    name, d = pick_dataset(f, rng)
    if name is None:
        return "reshape (no dataset)"
    a = d[()]
    a = np.asarray(a)
    choice = rng.randrange(5)
    if choice == 0 and a.ndim >= 2:
        a = a.T.copy()
    elif choice == 1:
        a = a.reshape(-1)
    elif choice == 2:
        a = a[None, ...]
    elif choice == 3 and a.size > 1:
        a = a.reshape(-1)[: a.size // 2]
    else:
        a = np.zeros((0,) + a.shape[1:], dtype=a.dtype)
    replace(f, name, a)
    return f"reshape {name} to {a.shape}"


def retype_key(f, rng):
    name, d = pick_dataset(f, rng)
    if name is None:
        return "retype (no dataset)"
    a = np.asarray(d[()])
    dtype = rng.choice([np.float16, np.float64, np.int8, np.int64, np.uint8, "S8", bool])
    replace(f, name, a.astype(dtype) if dtype != "S8" else np.array([b"text"] * max(a.size, 1)))
    return f"retype {name} to {np.dtype(dtype).name if dtype != 'S8' else 'string'}"


def nonfinite_tensor(f, rng):
    name, d = pick_dataset(f, rng)
    if name is None or d.dtype.kind != "f" or d.size == 0:
        return "non-finite (no float dataset)"
    a = np.asarray(d[()]).copy()
    a.reshape(-1)[rng.randrange(a.size)] = rng.choice([np.nan, np.inf, -np.inf, 3e38])
    d[...] = a
    return f"non-finite value in {name}"


def absurd_attribute(f, rng):
    owners = attribute_owners(f)
    if not owners:
        return "attribute (none)"
    name, obj, key = rng.choice(owners)
    value = rng.choice(ABSURD_NUMBERS + ["text", ""])
    obj.attrs[key] = value
    return f"attribute {name}@{key} = {value!r}"


# --- mutations of a converted file's graph and method data ----------------------------------------------------------
def load_graph(f):
    raw = f["graph"][()]
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def store_graph(f, graph):
    del f["graph"]
    f["graph"] = json.dumps(graph)


def tamper_graph(f, rng):
    if "graph" not in f:
        return "graph (none)"
    g = load_graph(f)
    nodes = g["nodes"]
    i = rng.randrange(len(nodes))
    kind = rng.randrange(8)
    if kind == 0 and nodes[i]["attributes"]:
        key = rng.choice(sorted(nodes[i]["attributes"]))
        nodes[i]["attributes"][key] = rng.choice([0, -1, 2 ** 31, 2 ** 62, 1e300, 7, "x"])
        what = f"node {i} {nodes[i]['kind']} attribute {key}"
    elif kind == 1:
        nodes[i]["inputs"] = [rng.choice([-1, len(g["values"]), 0, i])]
        what = f"node {i} inputs"
    elif kind == 2:
        nodes[i]["outputs"] = [rng.choice([-1, len(g["values"]) + 5, 0])]
        what = f"node {i} outputs"
    elif kind == 3:
        j = rng.randrange(len(nodes))
        nodes[i], nodes[j] = nodes[j], nodes[i]
        what = f"swap nodes {i} and {j}"
    elif kind == 4:
        nodes.insert(i, dict(nodes[i]))
        what = f"duplicate node {i}"
    elif kind == 5:
        del nodes[i]
        what = f"delete node {i}"
    elif kind == 6:
        v = rng.randrange(len(g["values"]))
        g["values"][v][rng.choice(["rows", "width"])] = rng.choice([0, -3, 2 ** 40, 1])
        what = f"value {v} size"
    else:
        g["semantics"]["readout"] = rng.choice(["max", "", 3])
        what = "semantics readout"
    store_graph(f, g)
    return "graph: " + what


def tamper_method_data(f, rng):
    method = f.attrs.get("method")
    method = method.decode() if isinstance(method, bytes) else method
    if not method or method not in f:
        return "method data (none)"
    sites = [(n, o) for n, o in datasets_and_groups(f[method]) if isinstance(o, h5py.Dataset)]
    attrs = [(n, o, k) for n, o in [("", f[method])] + datasets_and_groups(f[method]) for k in o.attrs.keys()]
    if attrs and (not sites or rng.random() < 0.5):
        n, o, k = rng.choice(attrs)
        o.attrs[k] = rng.choice(ABSURD_NUMBERS)
        return f"{method}/{n}@{k}"
    n, d = rng.choice(sites)
    a = np.asarray(d[()]).copy()
    if a.size:
        a.reshape(-1)[0] = rng.choice([0, -1, np.nan, 1e30])
        d[...] = a
    return f"{method}/{n} value"


FILE_MUTATIONS = {
    "delete": delete_key, "rename": rename_key, "reshape": reshape_key, "retype": retype_key,
    "non-finite": nonfinite_tensor, "attribute": absurd_attribute,
}
CONVERTED_MUTATIONS = {"graph": tamper_graph, "method-data": tamper_method_data}

# --- absurd command-line values -------------------------------------------------------------------------------------
FLAG_VALUES = {
    "--timesteps": ["0", "-1", "4611686018427387904", "nan", "1e3"],
    "--batch-size": ["0", "-1", "99999999999", "x"],
    "--limit": ["0", "-5", "18446744073709551616"],
    "--levels": ["0", "1", "9223372036854775807", "-3"],
    "--burst": ["0", "-1", "1000000000"],
    "--calib-samples": ["0", "-1", "1e9"],
    "--seed": ["-1", "abc"],
    "--shard": ["5", "-1"],
}


class Harness:
    def __init__(self, spikify, work, timeout, verbose):
        self.spikify, self.work, self.timeout, self.verbose = spikify, work, timeout, verbose
        self.results = collections.defaultdict(collections.Counter)
        self.failures = []

    def run(self, klass, description, args, names):
        out_dir = tempfile.mkdtemp(dir=self.work)
        args = [a.replace("{out}", out_dir) for a in args]
        try:
            p = subprocess.run([self.spikify] + args, capture_output=True, text=True, timeout=self.timeout,
                               stdin=subprocess.DEVNULL)
            status, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            status, err = None, ""
        leftovers = [n for n in os.listdir(out_dir) if "spikify-incomplete" in n]
        if status is None:
            outcome = "hang"
        elif status < 0 or status >= 128 or any(m in err for m in CRASH_MARKERS):
            outcome = "crash"
        elif status == 0:
            outcome = "accepted"
        elif not any(n in err for n in names):
            outcome = "unnamed error"
        else:
            outcome = "error"
        if leftovers:
            outcome = "temporary file left"
        self.results[klass][outcome] += 1
        if self.verbose:
            print(f"{outcome:>12s}  {klass}: {description}", file=sys.stderr)
        if outcome in ("hang", "crash", "unnamed error", "temporary file left"):
            self.failures.append((klass, description, " ".join(args), outcome, err.strip()[-400:]))
        shutil.rmtree(out_dir, ignore_errors=True)

    def mutate_file(self, source, klass, mutation, rng, index):
        path = os.path.join(self.work, f"{klass}-{index}.h5")
        shutil.copyfile(source, path)
        with h5py.File(path, "r+") as f:
            try:
                description = mutation(f, rng)
            except (ValueError, TypeError, KeyError, OSError) as e:  # an edit h5py itself refuses
                description = f"skipped ({e})"
        return path, description


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spikify", default=os.path.join(ROOT, ".build/debug/spikify"))
    ap.add_argument("--count", type=int, default=10, help="mutants per class and input")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--verbose", action="store_true", help="print every mutant and its outcome on stderr")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="spikify-mutate-")
    h = Harness(os.path.abspath(a.spikify), work, a.timeout, a.verbose)
    try:
        converted = os.path.join(work, "converted.h5")
        subprocess.run([h.spikify, "convert", "--model", QANN, "--out", converted], check=True,
                       capture_output=True)
        inputs = {
            "checkpoint": (CHECKPOINT, lambda p: ["predict", "--model", p, "--data", DATA,
                                                  "--out", "{out}/logits.h5"]),
            "converted": (converted, lambda p: ["eval", "--model", p, "--data", QANN_DATA, "--limit", "4",
                                                "--timesteps", "6", "--report", "{out}/r.json"]),
            "dataset": (DATA, lambda p: ["predict", "--model", CHECKPOINT, "--data", p,
                                         "--out", "{out}/logits.h5"]),
        }
        index = 0
        for input_name, (source, command) in inputs.items():
            mutations = dict(FILE_MUTATIONS, **(CONVERTED_MUTATIONS if input_name == "converted" else {}))
            for klass, mutation in mutations.items():
                for _ in range(a.count):
                    index += 1
                    path, description = h.mutate_file(source, f"{input_name}-{klass}", mutation, rng, index)
                    h.run(f"{input_name}/{klass}", description, command(path), [os.path.basename(path)])
                    h.run(f"{input_name}/{klass}", description + " (inspect)", ["inspect", path],
                          [os.path.basename(path)])
        for flag, values in FLAG_VALUES.items():
            for value in values:
                base = ["eval", "--model", converted, "--data", QANN_DATA, "--limit", "4", "--timesteps", "4"]
                if flag in ("--levels", "--calib-samples"):
                    base = ["eval", "--model", CHECKPOINT, "--method", "spikezip", "--calib", DATA, "--data", DATA,
                            "--limit", "4", "--timesteps", "4"]
                if flag == "--shard":
                    base += ["--shards", "2", "--report", "{out}/r.json"]
                h.run("cli/" + flag, f"{flag} {value}", base + [flag, value], [flag, value])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    outcomes = ["error", "accepted", "unnamed error", "crash", "hang", "temporary file left"]
    print(f"{'class':28s}" + "".join(f"{o:>22s}" for o in outcomes))
    for klass in sorted(h.results):
        print(f"{klass:28s}" + "".join(f"{h.results[klass][o]:22d}" for o in outcomes))
    total = collections.Counter()
    for c in h.results.values():
        total.update(c)
    print(f"{'total':28s}" + "".join(f"{total[o]:22d}" for o in outcomes))
    for klass, description, args, outcome, err in h.failures:
        print(f"\nFAIL {klass}: {description}\n  spikify {args}\n  {outcome}: {err}", file=sys.stderr)
    print(f"mutation harness: {sum(total.values())} runs, {len(h.failures)} failures (seed {a.seed})")
    return 1 if h.failures else 0


if __name__ == "__main__":
    sys.exit(main())
