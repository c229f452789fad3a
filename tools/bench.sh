#!/usr/bin/env bash
# ANN throughput of Spikify (release build) against PyTorch/timm on the same machine, in the same run:
# a ViT-Tiny geometry (192 wide, 12 blocks, 3 heads, 224×224, 1000 classes), random weights, batch 1 and 16.
# Optional: SNN time per image next to the ANN's for a bundled model (SNN_MODEL, SNN_DATA, T).
#   tools/bench.sh            (make bench builds and sets up the venv first)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=.build/release/spikify-bench
PY=.venv/bin/python
SECONDS_PER=${SECONDS_PER:-5}
[ -x "$BENCH" ] || swift build -c release --product spikify-bench >&2
out=$(mktemp)
"$BENCH" --batches 1,16 --seconds "$SECONDS_PER" ${SNN_MODEL:+--snn "$SNN_MODEL" "$SNN_DATA" "${T:-64}"} | tee "$out"
"$PY" tools/bench_torch.py --batches 1 16 --min-seconds "$SECONDS_PER" | tee -a "$out"
"$PY" - "$out" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
swift = {int(b): float(v) for b, v in re.findall(r"ann_vit_tiny batch (\d+) images_per_s ([\d.]+)", text)}
torch = {}
for line in text.splitlines():
    m = re.match(r"\s*(\d+)\s+\d+\s+([\d.]+)\s+[\d.]+(\s+[\d.]+)+\s*$", line)
    if m:
        torch[int(m.group(1))] = float(m.group(2))
print("\nbatch  spikify img/s  pytorch img/s  ratio (spikify/pytorch)")
for b in sorted(swift):
    if b in torch:
        print(f"{b:5d}  {swift[b]:13.2f}  {torch[b]:13.2f}  {swift[b] / torch[b]:6.2f}")
PYEOF
rm -f "$out"
