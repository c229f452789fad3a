#!/usr/bin/env python3
"""Compare two Spikify JSON reports: identical except timing fields.

    tools/compare_reports.py A.json B.json [--ignore SUBSTRING ...] [--quiet]

Keys whose name contains `seconds`, `timing` or `blas_core` (case-, `_`- and `-`-insensitive), plus any --ignore substring, are
dropped at every depth before comparing; everything else must be equal (numbers compared exactly: a merged report
must be the report an unsharded run gives, not an approximation of it). Exit status: 0 equal, 1 different (the
first differences are printed), 2 usage or unreadable input. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys

DEFAULT_IGNORED = ("seconds", "timing", "blas_core")


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def strip(value, ignored):
    """Drops keys containing an ignored substring (case, `_` and `-` insensitive: blas_core matches blasCore)."""
    if isinstance(value, dict):
        return {k: strip(v, ignored) for k, v in value.items() if not any(_norm(s) in _norm(k) for s in ignored)}
    if isinstance(value, list):
        return [strip(v, ignored) for v in value]
    return value


def differences(a, b, path="$", out=None, limit=20):
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: only in second")
            elif k not in b:
                out.append(f"{path}.{k}: only in first")
            else:
                differences(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: lengths {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            differences(x, y, f"{path}[{i}]", out, limit)
    elif type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        out.append(f"{path}: {type(a).__name__} {a!r} != {type(b).__name__} {b!r}")
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")
    return out[:limit]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--ignore", nargs="*", default=[], help="more key substrings to ignore")
    ap.add_argument("--quiet", action="store_true")
    try:
        args = ap.parse_args()
    except SystemExit as e:
        return 2 if e.code else 0
    ignored = tuple(s.lower() for s in (*DEFAULT_IGNORED, *args.ignore))
    docs = []
    for name in (args.first, args.second):
        try:
            with open(name, encoding="utf-8") as f:
                docs.append(strip(json.load(f), ignored))
        except (OSError, ValueError) as e:
            print(f"compare_reports: cannot read {name}: {e}", file=sys.stderr)
            return 2
    diffs = differences(*docs)
    if not diffs:
        if not args.quiet:
            print(f"reports equal (ignoring keys containing {', '.join(ignored)}): {args.first} == {args.second}")
        return 0
    print(f"reports differ: {args.first} != {args.second}", file=sys.stderr)
    for d in diffs:
        print(f"  {d}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
