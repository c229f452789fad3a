#!/usr/bin/env python3
"""Markdown tables of `spikify eval --report` JSON files for docs/methods/mst.md (standard library only).

    python3 tools/mst_figures.py out/mst16.json out/mst16-mask75.json ... [--steps 8 16 32 64 128 256 512]

Per report and selected T: SNN accuracy, top-1 agreement with the ANN and with the reference (QCFS) network, and
spikes per image up to T (summed over all sites). The last table compares spikes per image at equal T with the
first report (the spike reduction of masking).
"""
import argparse
import json


def load(path):
    with open(path) as f:
        r = json.load(f)
    snn = r["snn"]
    cumulative, total = [], 0
    for s in snn["spikes_per_step"]:
        total += s
        cumulative.append(total / r["samples"])
    return r, snn, cumulative


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--steps", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512])
    a = ap.parse_args()
    rows = []
    for path in a.reports:
        r, snn, cum = load(path)
        ref = r["reference"]
        print(f"\n**{path}**: {r['samples']} images; ANN {100 * (r['ann'].get('accuracy') or 0):.1f}%, "
              f"{ref['name']} {100 * (ref.get('accuracy') or 0):.1f}% (agreement with ANN "
              f"{100 * ref.get('agreement_with_ann', 0):.1f}%)\n")
        print("| T | SNN accuracy | agreement with ANN | agreement with reference | spikes per image |")
        print("|---|---|---|---|---|")
        for t in a.steps:
            if t > len(snn["timesteps"]):
                continue
            i = t - 1
            acc = snn.get("accuracy")
            print(f"| {t} | {100 * acc[i]:.1f}% | {100 * snn['agreement_with_ann'][i]:.1f}% | "
                  f"{100 * snn['agreement_with_reference'][i]:.1f}% | {cum[i]:,.0f} |")
        rows.append((path, cum))
    if len(rows) > 1:
        base_path, base = rows[0]
        print(f"\nSpikes per image relative to {base_path}:\n")
        print("| T | " + " | ".join(p for p, _ in rows[1:]) + " |")
        print("|---|" + "---|" * (len(rows) - 1))
        for t in a.steps:
            if t > len(base) or any(t > len(c) for _, c in rows[1:]):
                continue
            print(f"| {t} | " + " | ".join(f"{100 * (c[t - 1] / base[t - 1] - 1):+.1f}%" for _, c in rows[1:]) + " |")


if __name__ == "__main__":
    main()
