#!/usr/bin/env python3
"""Stand-in for `spikify eval --shard/--shards/--resume` and `spikify merge`, until the core has them.

It follows the CLI contract of issue 13 so that deploy/slurm, deploy/k8s and tools/slurm_test.sh can be exercised
for real (real Slurm array, real dependency, real files) before the Swift side lands. It runs no network: each
sample's "result" is a counter-based hash of (model bytes, data bytes, timesteps, sample index), so, exactly like
the real evaluator promises, per-sample results do not depend on how the data set is sharded.

    spikify_standin.py eval --model M --data D --timesteps T [--batch-size B] [--limit N]
                            [--shard I/N | --shards N] [--report R.json] [--resume]
    spikify_standin.py merge SHARD.json ... --out R.json

Shard index: --shard I/N, else --shards N with I from SLURM_ARRAY_TASK_ID (N from SLURM_ARRAY_TASK_COUNT when
--shards is absent) or JOB_COMPLETION_INDEX. Slice i of n over `count` samples: [floor(i*count/n),
floor((i+1)*count/n)). Image count: --limit, else SPIKIFY_STANDIN_IMAGES, else 1000 (the bundled MNIST test set;
the stand-in does not read HDF5). SPIKIFY_STANDIN_SECONDS_PER_IMAGE (default 0) makes it sleep like real work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

KIND_SHARD = "spikify-standin-shard"
KIND_REPORT = "spikify-standin-report"


def fail(message: str) -> None:
    print(f"spikify-standin: error: {message}", file=sys.stderr)
    sys.exit(1)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    return h.hexdigest()


def write_atomically(path: str, doc: dict) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def shard_of(args) -> tuple[int, int] | None:
    if args.shard:
        try:
            i, n = (int(x) for x in args.shard.split("/"))
        except ValueError:
            fail(f"--shard wants I/N (0-based I), got {args.shard!r}")
    elif args.shards is not None or "SLURM_ARRAY_TASK_ID" in os.environ or "JOB_COMPLETION_INDEX" in os.environ:
        raw = os.environ.get("SLURM_ARRAY_TASK_ID", os.environ.get("JOB_COMPLETION_INDEX"))
        if raw is None:
            fail("--shards needs SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (or use --shard I/N)")
        i = int(raw)
        n = args.shards if args.shards is not None else int(os.environ.get("SLURM_ARRAY_TASK_COUNT", "0"))
        if args.shards is None and n == 0:
            fail("--shards N is missing and SLURM_ARRAY_TASK_COUNT is not set")
    else:
        return None
    if not (n > 0 and 0 <= i < n):
        fail(f"shard {i}/{n} is out of range (0-based index below the count)")
    return i, n


def sample_result(seed: bytes, index: int, timesteps: int) -> tuple[int, bool]:
    d = hashlib.sha256(seed + index.to_bytes(8, "little")).digest()
    settle = 1 + int.from_bytes(d[:4], "little") % timesteps
    correct = d[4] % 100 < 97
    return settle, correct


def evaluate(args) -> None:
    count = args.limit or int(os.environ.get("SPIKIFY_STANDIN_IMAGES", "1000"))
    options = {"data_sha256": sha256(args.data), "timesteps": args.timesteps, "batch_size": args.batch_size,
               "limit": args.limit}
    model_sha = sha256(args.model)
    shard = shard_of(args)
    start, end = (0, count) if shard is None else (shard[0] * count // shard[1], (shard[0] + 1) * count // shard[1])
    if args.resume and args.report and os.path.exists(args.report):
        try:
            with open(args.report, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
        if (old.get("model_sha256") == model_sha and old.get("options") == options
                and old.get("slice") == {"start": start, "end": end, "count": count}):
            print(f"resume: {args.report} already covers [{start}, {end}) for this model and options; skipping")
            return
        print(f"resume: {args.report} is for another model, options or slice; evaluating again")
    began = time.time()
    seed = f"{model_sha}/{options['data_sha256']}/{args.timesteps}/".encode()
    correct_at_t = [0] * args.timesteps
    settle_hist = [0] * (args.timesteps + 1)
    delay = float(os.environ.get("SPIKIFY_STANDIN_SECONDS_PER_IMAGE", "0"))
    for index in range(start, end):
        settle, correct = sample_result(seed, index, args.timesteps)
        settle_hist[settle] += 1
        if correct:
            for t in range(settle - 1, args.timesteps):
                correct_at_t[t] += 1
        if delay:
            time.sleep(delay)
    acc = {"images": end - start, "correct_at_t": correct_at_t, "settle_histogram": settle_hist}
    seconds = time.time() - began
    where = "all" if shard is None else f"shard {shard[0]}/{shard[1]}"
    print(f"stand-in eval: {where}, images [{start}, {end}) of {count}, T={args.timesteps}, {seconds:.2f} s")
    if not args.report:
        return
    if shard is None:
        doc = final_report(model_sha, options, count, acc, seconds)
    else:
        doc = {"kind": KIND_SHARD, "model_sha256": model_sha, "options": options,
               "shard": {"index": shard[0], "count": shard[1]},
               "slice": {"start": start, "end": end, "count": count}, "accumulator": acc, "wall_seconds": seconds}
    write_atomically(args.report, doc)
    print(f"report: {args.report}")


def final_report(model_sha: str, options: dict, count: int, acc: dict, seconds: float) -> dict:
    n = acc["images"]
    return {"kind": KIND_REPORT, "model_sha256": model_sha, "options": options, "images": count,
            "accuracy_at_t": [c / n if n else 0.0 for c in acc["correct_at_t"]],
            "correct_at_t": acc["correct_at_t"], "settle_histogram": acc["settle_histogram"],
            "wall_seconds": seconds}


def merge(args) -> None:
    shards = []
    for name in args.shards:
        try:
            with open(name, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            fail(f"cannot read shard report {name}: {e}")
        if doc.get("kind") != KIND_SHARD:
            fail(f"{name} is not a shard report")
        shards.append((name, doc))
    if not shards:
        fail("merge needs at least one shard report")
    first_name, first = shards[0]
    for name, doc in shards[1:]:
        for key in ("model_sha256", "options"):
            if doc[key] != first[key]:
                fail(f"{name} and {first_name} differ in {key}: not the same evaluation")
        if doc["slice"]["count"] != first["slice"]["count"]:
            fail(f"{name} and {first_name} slice different data set sizes")
    count = first["slice"]["count"]
    slices = sorted((doc["slice"]["start"], doc["slice"]["end"], name) for name, doc in shards)
    position = 0
    for start, end, name in slices:
        if start != position:
            what = f"overlap [{start}, {position})" if start < position else f"gap [{position}, {start})"
            fail(f"shards do not cover [0, {count}) once: {what} before {name} [{start}, {end})")
        position = end
    if position != count:
        fail(f"shards cover [0, {position}) of {count} images: missing [{position}, {count})")
    t = first["options"]["timesteps"]
    acc = {"images": 0, "correct_at_t": [0] * t, "settle_histogram": [0] * (t + 1)}
    for _, doc in shards:
        a = doc["accumulator"]
        acc["images"] += a["images"]
        acc["correct_at_t"] = [x + y for x, y in zip(acc["correct_at_t"], a["correct_at_t"])]
        acc["settle_histogram"] = [x + y for x, y in zip(acc["settle_histogram"], a["settle_histogram"])]
    doc = final_report(first["model_sha256"], first["options"], count, acc,
                       sum(d.get("wall_seconds", 0.0) for _, d in shards))
    write_atomically(args.out, doc)
    print(f"stand-in merge: {len(shards)} shards, {count} images -> {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(prog="spikify-standin", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("eval")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--timesteps", type=int, default=64)
    e.add_argument("--batch-size", type=int, default=16)
    e.add_argument("--limit", type=int)
    e.add_argument("--shard")
    e.add_argument("--shards", type=int)
    e.add_argument("--report")
    e.add_argument("--resume", action="store_true")
    m = sub.add_parser("merge")
    m.add_argument("shards", nargs="+")
    m.add_argument("--out", required=True)
    h = sub.add_parser("help")
    h.add_argument("topic", nargs="?")
    args = ap.parse_args()
    if args.command == "eval":
        if args.timesteps <= 0:
            fail("--timesteps must be positive")
        evaluate(args)
    elif args.command == "merge":
        merge(args)
    else:
        (e if args.topic == "eval" else m if args.topic == "merge" else ap).print_help()


if __name__ == "__main__":
    main()
