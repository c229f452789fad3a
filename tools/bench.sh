#!/usr/bin/env bash
# Spikify's performance figures in one run (docs/performance.md), release build, each ratio measured in this run:
#   ANN vs PyTorch/timm     ViT-Tiny and ViT-Small geometries, random weights, batch 1 and 16; ROUNDS (3) rounds,
#                           Spikify and PyTorch alternating, so that each ratio compares measurements taken minutes
#                           apart at most under the same load; the summary gives the median ratio and the range
#   SNN vs ANN              the bundled QAT QANN until quiet (batch 16; single spikes, then --burst 4, 8 and 16, all
#                           exact at quiescence); ViT-Tiny geometry per simulated step
#   SNN vs SpikingJelly     SpikingJelly 2.0's SpikeZIP-TF recipe on the bundled QANN at T = 32 (batch 16)
#   peak RSS, the OpenBLAS kernel (with a warning and its fix when it is older than the CPU), scaling curves.
#   tools/bench.sh     (make bench builds and sets up the venv first; SECONDS_PER=3 per measurement, ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=.build/release/spikify-bench
PY=.venv/bin/python
SECONDS_PER=${SECONDS_PER:-3}
ROUNDS=${ROUNDS:-3}
[ -x "$BENCH" ] || swift build -c release --product spikify-bench >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  echo "== ANN round $round of $ROUNDS: Spikify, then PyTorch" | tee -a "$out"
  "$BENCH" --sections ann --seconds "$SECONDS_PER" | tee -a "$out"
  "$PY" tools/bench_torch.py --batches 1 16 --min-seconds "$SECONDS_PER" | tee -a "$out"
done
"$BENCH" --sections snn,tiny,sweep --seconds "$SECONDS_PER" | tee -a "$out"
if "$PY" -c "import spikingjelly.activation_based.ann2snn.recipes" 2>/dev/null; then
  "$PY" tools/bench_spikingjelly.py --timesteps 32 --batch 16 --min-seconds "$SECONDS_PER" 2>/dev/null | tee -a "$out"
else
  echo "spikingjelly not installed: pip install --no-deps -r tools/requirements-spikingjelly.txt (make venv does)"
fi
"$PY" - "$out" <<'PYEOF'
import re, sys
from statistics import median
text = open(sys.argv[1]).read()
def find(pattern, cast=float):
    m = re.search(pattern, text)
    return cast(m.group(1)) if m else None
print("\n== summary (ratios from this run)")
core = find(r"openblas_core (\S+)", str)
print(f"OpenBLAS kernel: {core}")
linear = find(r"linear_kernel (\S+)", str)
print(f"Spikify's linear layers: {linear}")
for line in text.splitlines():
    if line.startswith("warning: OpenBLAS"):
        print(line)
print("ANN vs PyTorch (images/s, medians over the rounds; ratio > 1 means Spikify is faster; the ratio is the")
print("median of the rounds' ratios, each from Spikify and PyTorch measured one after the other)")
for model in ("vit_tiny", "vit_small"):
    for b in (1, 16):
        s = [float(v) for v in re.findall(rf"^ann {model} batch {b} images_per_s ([\d.]+)", text, re.M)]
        t = [float(v) for v in re.findall(rf"^torch {model} batch {b} images_per_s ([\d.]+)", text, re.M)]
        ratios = [a / c for a, c in zip(s, t)]
        if ratios:
            print(f"  {model:9} batch {b:2}: spikify {median(s):8.2f}  pytorch {median(t):8.2f}  "
                  f"ratio {median(ratios):5.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f}, n = {len(ratios)})")
snn = find(r"until_quiet ms_per_image ([\d.]+)")
ann = find(r"ann_ms_per_image ([\d.]+)")
if snn and ann:
    print(f"SNN vs ANN, bundled QANN until quiet, batch 16: {snn:.2f} vs {ann:.3f} ms/image -> {snn / ann:.1f}x the ANN")
exact = find(r"snn bundled_qann exact (agreement_with_qann \S+ max_abs_dlogit \S+)", str)
print(f"  exactness: {exact or 'n/a'}")
blas = re.search(r"snn bundled_qann linear_on_openblas until_quiet ms_per_image ([\d.]+) packed_speedup ([\d.]+)", text)
if blas:
    print(f"  linear layers on OpenBLAS instead (measured in turn): {float(blas.group(1)):.2f} ms/image; "
          f"the packed kernel {blas.group(2)}x faster")
# Burst spikes (--burst B, an explicit option): fewer steps, still bit for bit the QANN once quiet.
for m in re.finditer(r"snn bundled_qann burst (\d+) batch \d+ images \d+ until_quiet ms_per_image ([\d.]+) "
                     r"ann_ms_per_image ([\d.]+) ratio [\d.]+ steps (\d+)", text):
    b, ms, a, steps = int(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4))
    ex = find(rf"snn bundled_qann burst {b} exact (agreement_with_qann \S+ max_abs_dlogit \S+)", str)
    print(f"  --burst {b:2}: {ms:.2f} vs {a:.3f} ms/image -> {ms / a:.1f}x the ANN ({steps} steps; {ex})")
step = find(r"(?m)^tiny_step batch .* step_per_ann ([\d.]+)")
if step:
    print(f"ViT-Tiny geometry, batch 4: one simulated step = {step:.2f} ANN forwards")
    blas = re.search(r"tiny_step linear_on_openblas ms_per_step ([\d.]+) packed_speedup ([\d.]+)", text)
    if blas:
        print(f"  linear layers on OpenBLAS instead (measured in turn): {float(blas.group(1)):.1f} ms per step; "
              f"the packed kernel {blas.group(2)}x faster")
# Whole runs per mode (single spikes, then --burst B): until quiet, and at T = 32, in ANN forwards.
for m in re.finditer(r"tiny_burst (\d+) batch \d+ first_\d+_steps_step_per_ann [\d.]+ until_quiet_steps (\d+) "
                     r"until_quiet_ann_forwards ([\d.]+) until_quiet_step_per_ann ([\d.]+) T32_ann_forwards ([\d.]+) "
                     r"T32_step_per_ann ([\d.]+) max_abs_dlogit (\S+)", text):
    b, steps, fw, per, fw32, per32, dl = m.groups()
    mode = "single spikes" if b == "1" else f"--burst {b:>2}  "
    print(f"  {mode}: until quiet {steps:>2} steps, {fw:>5} ANN forwards ({per} per step); T = 32: {fw32:>5} "
          f"forwards, {per32} per step; max |dlogit| {dl}")
rss = re.search(r"tiny_rss batch (\d+) predict_peak_mb ([\d.]+) snn_peak_mb ([\d.]+) ratio ([\d.]+)", text)
if rss:
    print(f"peak RSS, ViT-Tiny batch {rss.group(1)}: predict {rss.group(2)} MB, SNN {rss.group(3)} MB ({rss.group(4)}x)")
sj = find(r"spikingjelly_spikezip batch \d+ T 32 ms_per_image ([\d.]+)")
t32 = find(r"snn bundled_qann batch \d+ T 32 ms_per_image ([\d.]+)")
if sj and t32:
    agree = find(r"spikingjelly_spikezip .* (agreement_with_qann \S+)", str)
    print(f"SNN vs SpikingJelly SpikeZIP-TF recipe, T = 32, batch 16: {t32:.2f} vs {sj:.1f} ms/image -> "
          f"Spikify {sj / t32:.1f}x faster (SpikingJelly {agree})")
    for m in re.finditer(r"snn bundled_qann burst (\d+) batch \d+ T 32 ms_per_image ([\d.]+)", text):
        b, ms = int(m.group(1)), float(m.group(2))
        print(f"  --burst {b:2}: {ms:.2f} vs {sj:.1f} ms/image -> Spikify {sj / ms:.1f}x faster")
PYEOF
