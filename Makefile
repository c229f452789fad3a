# Spikify — the two commands of the README are `make demo` and `make test`; each installs what it needs.
SWIFT      ?= swift
BIN        := .build/release/spikify
PYTHON     ?= python3
VENV       := .venv
TIMESTEPS  ?= 256
MST_TIMESTEPS ?= 64
MST_LIMIT  ?= 1000
STA_TIMESTEPS ?= 64
STA_LIMIT  ?= 200
DEMO_OUT   := out

.PHONY: all deps build test test-asan test-tsan fuzz fuzz-build fuzz-smoke mutate demo latency report-preview models fixtures keras-fixtures venv bench slurm-test deploy-check interop-check clean

all: build

# System libraries found through pkg-config (HDF5, OpenBLAS). Installed with apt-get when missing.
deps:
	@if pkg-config --exists hdf5 openblas 2>/dev/null; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing pkg-config libhdf5-dev libopenblas-dev with apt-get…"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq pkg-config libhdf5-dev libopenblas-dev >/dev/null || \
	  { echo "error: could not install pkg-config libhdf5-dev libopenblas-dev; install them (or your system's HDF5 and OpenBLAS development packages with their pkg-config files) and retry" >&2; exit 1; }; \
	else \
	  echo "error: HDF5 and OpenBLAS development files are missing (pkg-config hdf5 openblas) and apt-get is not available; install them with your package manager and retry" >&2; exit 1; \
	fi
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "error: Swift 6 toolchain not found (swift)" >&2; exit 1; }

build: deps
	$(SWIFT) build -c release --product spikify

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Converts the bundled MNIST ViTs with SpikeZIP-TF, MST and STA and prints accuracy against timesteps on the bundled test set.
demo: build
	@mkdir -p $(DEMO_OUT)
	$(BIN) inspect models/vit-mnist-relu-qann16.h5
	$(BIN) predict --model models/vit-mnist-gelu.h5 --data models/data/mnist-test.h5 --out $(DEMO_OUT)/gelu-logits.h5
	@echo "== SpikeZIP-TF QAT QANN (16 levels): convert, then run until quiet"
	$(BIN) convert --model models/vit-mnist-relu-qann16.h5 --method spikezip --out $(DEMO_OUT)/relu-qann16-snn.h5
	$(BIN) eval --model $(DEMO_OUT)/relu-qann16-snn.h5 --data models/data/mnist-test.h5 --timesteps $(TIMESTEPS) --until-quiet --report $(DEMO_OUT)/relu-qann16.json --plot
	@echo "== float ReLU ViT, 16 calibrated levels (training-free)"
	$(BIN) eval --model models/vit-mnist-relu.h5 --method spikezip --levels 16 --calib models/data/mnist-calib.h5 --data models/data/mnist-test.h5 --timesteps $(TIMESTEPS) --until-quiet --report $(DEMO_OUT)/relu-l16.json
	@echo "== float GELU ViT, 32 calibrated levels (training-free, differential GELU)"
	$(BIN) eval --model models/vit-mnist-gelu.h5 --method spikezip --levels 32 --calib models/data/mnist-calib.h5 --data models/data/mnist-test.h5 --timesteps $(TIMESTEPS) --until-quiet --report $(DEMO_OUT)/gelu-l32.json
	@echo "== MST-trained ViT (QCFS L = 16, BatchNorm blocks): convert, then $(MST_TIMESTEPS) steps on the first $(MST_LIMIT) test images, MST's per-step semantics (standard) and Spikify's improved mode"
	$(BIN) convert --model models/vit-mnist-mst16.h5 --method mst --mst-mode standard --out $(DEMO_OUT)/mst16-standard-snn.h5
	$(BIN) convert --model models/vit-mnist-mst16.h5 --method mst --mst-mode improved --out $(DEMO_OUT)/mst16-improved-snn.h5
	$(BIN) eval --model $(DEMO_OUT)/mst16-standard-snn.h5 --data models/data/mnist-test.h5 --timesteps $(MST_TIMESTEPS) --limit $(MST_LIMIT) --report $(DEMO_OUT)/mst16-standard.json
	$(BIN) eval --model $(DEMO_OUT)/mst16-improved-snn.h5 --data models/data/mnist-test.h5 --timesteps $(MST_TIMESTEPS) --limit $(MST_LIMIT) --report $(DEMO_OUT)/mst16-improved.json
	@echo "== the same trained with random spike masking p = 0.75 (masks on Q, K and score spikes, seed 0), improved mode"
	$(BIN) convert --model models/vit-mnist-mst16-mask75.h5 --method mst --mst-mode improved --mask-ratio 0.75 --out $(DEMO_OUT)/mst16-mask75-improved-snn.h5
	$(BIN) eval --model $(DEMO_OUT)/mst16-mask75-improved-snn.h5 --data models/data/mnist-test.h5 --timesteps $(MST_TIMESTEPS) --limit $(MST_LIMIT) --report $(DEMO_OUT)/mst16-mask75-improved.json
	@echo "== MST side by side (accuracy, agreement with the QCFS network and spikes at every step): $(DEMO_OUT)/mst.md, $(DEMO_OUT)/mst.html"
	$(BIN) report $(DEMO_OUT)/mst16-standard.json $(DEMO_OUT)/mst16-improved.json $(DEMO_OUT)/mst16-mask75-improved.json --title "MST on the bundled MST-trained ViT" --out $(DEMO_OUT)/mst.md
	$(BIN) report $(DEMO_OUT)/mst16-standard.json $(DEMO_OUT)/mst16-improved.json $(DEMO_OUT)/mst16-mask75-improved.json --title "MST on the bundled MST-trained ViT" --out $(DEMO_OUT)/mst.html
	@cat $(DEMO_OUT)/mst.md
	@echo "== STA on the float GELU ViT (training-free: UGOs fitted, thresholds calibrated for T = $(STA_TIMESTEPS)), first $(STA_LIMIT) test images"
	$(BIN) convert --model models/vit-mnist-gelu.h5 --method sta --calib models/data/mnist-calib.h5 --timesteps $(STA_TIMESTEPS) --out $(DEMO_OUT)/gelu-sta.h5
	$(BIN) eval --model $(DEMO_OUT)/gelu-sta.h5 --data models/data/mnist-test.h5 --timesteps $(STA_TIMESTEPS) --limit $(STA_LIMIT) --report $(DEMO_OUT)/gelu-sta.json

# Renders the HTML report of the bundled models and screenshots it with headless Chromium (installed with apt-get
# when missing) into docs/report-preview.png. Reuses out/*.json from `make demo`, else evaluates the QAT QANN on
# 200 images. Not part of `make test` or CI.
report-preview: build
	tools/report_preview.sh

# Python tooling (only for regenerating models/ and Tests/Fixtures/; never needed to build or run Spikify).
$(VENV)/.installed: tools/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tools/requirements.txt
	touch $@

venv: $(VENV)/.installed $(VENV)/.spikingjelly

# SpikingJelly (the peer of `make bench`) without its declared dependencies (tools/requirements-spikingjelly.txt).
$(VENV)/.spikingjelly: $(VENV)/.installed tools/requirements-spikingjelly.txt
	$(VENV)/bin/pip install -q --no-deps -r tools/requirements-spikingjelly.txt
	touch $@

models: venv
	$(VENV)/bin/python tools/train_mnist.py

fixtures: venv
	$(VENV)/bin/python tools/make_fixtures.py

# Keras 3 / keras_hub ViT fixtures (torch backend); keras-hub without its tensorflow dependencies.
$(VENV)/.keras-hub: $(VENV)/.installed tools/requirements-keras-hub.txt
	$(VENV)/bin/pip install -q --no-deps -r tools/requirements-keras-hub.txt
	touch $@

keras-fixtures: $(VENV)/.keras-hub
	KERAS_BACKEND=torch $(VENV)/bin/python tools/make_keras_fixtures.py

# Performance figures in one run (docs/performance.md): ANN vs PyTorch, SNN vs ANN and vs SpikingJelly, peak RSS,
# the BLAS kernel and scaling curves; release build, ratios measured in the same run (needs the venv).
bench: build venv
	$(SWIFT) build -c release --product spikify-bench
	tools/bench.sh

# The measurements of docs/latency.md: burst spikes B = 1…16 and two early-exit policies on the bundled QAT QANN
# (the first LATENCY_IMAGES test images; reports in out/latency-burst*.json and out/latency-stable3-burst*.json).
LATENCY_IMAGES ?= 500
latency: build
	@mkdir -p $(DEMO_OUT)
	$(BIN) convert --model models/vit-mnist-relu-qann16.h5 --out $(DEMO_OUT)/qann16.h5
	$(BIN) eval --model $(DEMO_OUT)/qann16.h5 --data models/data/mnist-test.h5 --until-quiet --timesteps 256 \
	  --limit $(LATENCY_IMAGES) --burst 1,2,4,8,16 --exit-when stable:2,margin:1 --report $(DEMO_OUT)/latency.json
	$(BIN) eval --model $(DEMO_OUT)/qann16.h5 --data models/data/mnist-test.h5 --until-quiet --timesteps 256 \
	  --limit $(LATENCY_IMAGES) --burst 1,2,4,8 --exit-when stable:3 --report $(DEMO_OUT)/latency-stable3.json

# Runs converted files in PyTorch (tools/spikify_torch.py, docs/interop.md) next to `spikify eval --report` on the
# first INTEROP_IMAGES test images: the bundled QAT QANN (B = 1 and burst B = 4) and the float ReLU ViT with 16
# calibrated levels. Fails when Spikify's and torch's per-step accuracy or agreement differ by more than
# 1 − INTEROP_MIN_AGREEMENT at any step, or the settled figures differ. VENV_PYTHON: a Python with torch and h5py
# (default: the venv of tools/requirements.txt, installed when missing).
INTEROP_IMAGES ?= 100
INTEROP_STEPS ?= 64
INTEROP_MIN_AGREEMENT ?= 0.98
VENV_PYTHON ?= $(VENV)/bin/python
INTEROP_RUN = $(VENV_PYTHON) tools/spikify_torch.py --limit $(INTEROP_IMAGES) --timesteps $(INTEROP_STEPS) \
  --min-agreement $(INTEROP_MIN_AGREEMENT) --quiet
interop-check: build $(if $(filter $(VENV)/bin/python,$(VENV_PYTHON)),venv)
	@mkdir -p $(DEMO_OUT)
	$(BIN) convert --model models/vit-mnist-relu-qann16.h5 --out $(DEMO_OUT)/interop-qann16.h5
	$(BIN) eval --model $(DEMO_OUT)/interop-qann16.h5 --data models/data/mnist-test.h5 --timesteps $(INTEROP_STEPS) \
	  --limit $(INTEROP_IMAGES) --report $(DEMO_OUT)/interop-qann16.json
	$(INTEROP_RUN) $(DEMO_OUT)/interop-qann16.h5 models/data/mnist-test.h5 --report $(DEMO_OUT)/interop-qann16.json \
	  --out $(DEMO_OUT)/interop-qann16-torch.json
	$(BIN) convert --model models/vit-mnist-relu-qann16.h5 --burst 4 --out $(DEMO_OUT)/interop-qann16-b4.h5
	$(BIN) eval --model $(DEMO_OUT)/interop-qann16-b4.h5 --data models/data/mnist-test.h5 --timesteps $(INTEROP_STEPS) \
	  --limit $(INTEROP_IMAGES) --report $(DEMO_OUT)/interop-qann16-b4.json
	$(INTEROP_RUN) $(DEMO_OUT)/interop-qann16-b4.h5 models/data/mnist-test.h5 --report $(DEMO_OUT)/interop-qann16-b4.json \
	  --out $(DEMO_OUT)/interop-qann16-b4-torch.json
	$(BIN) convert --model models/vit-mnist-relu.h5 --levels 16 --calib models/data/mnist-calib.h5 \
	  --out $(DEMO_OUT)/interop-relu-l16.h5
	$(BIN) eval --model $(DEMO_OUT)/interop-relu-l16.h5 --data models/data/mnist-test.h5 --timesteps $(INTEROP_STEPS) \
	  --limit $(INTEROP_IMAGES) --report $(DEMO_OUT)/interop-relu-l16.json
	$(INTEROP_RUN) $(DEMO_OUT)/interop-relu-l16.h5 models/data/mnist-test.h5 --report $(DEMO_OUT)/interop-relu-l16.json \
	  --out $(DEMO_OUT)/interop-relu-l16-torch.json

# A real single-node Slurm cluster (installs slurmctld/slurmd/munge with apt-get when missing): sharded eval as an
# array job + merge job (afterok), merged report compared with an unsharded run. Not part of `make test`.
slurm-test: build
	tools/slurm_test.sh

# Offline checks of deploy/k8s: YAML parse, invariants, and the pods' commands run locally (needs PyYAML).
deploy-check: build
	$(PYTHON) tools/check_deploy.py

# The test suite under AddressSanitizer (a separate build folder; not part of `make test`). Leak detection is off:
# with it on, LeakSanitizer lists only process-lifetime allocations of XCTest (test registrations), Foundation and
# libhdf5 at exit, none made by Spikify's code, and turns them into a failing exit status.
test-asan: deps
	$(SWIFT) build --build-tests --scratch-path .build-asan -Xswiftc -sanitize=address
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --scratch-path .build-asan

# The threaded tests (the worker pool, the executor's lanes) under ThreadSanitizer, C and Swift targets alike (a
# separate build folder; not part of `make test`).
test-tsan: deps
	$(SWIFT) build --build-tests --scratch-path .build-tsan --sanitize=thread
	$(SWIFT) test --skip-build --scratch-path .build-tsan --sanitize=thread --filter 'ParallelTests|ExecutorLaneTests'

# libFuzzer over the importer, the converted-model loader (with the executor) and the dataset reader
# (Fuzz/SpikifyFuzz, one run per target), seeded with the test fixtures, the fuzz regressions and a converted model;
# FUZZ_SECONDS (default 60) per target, FUZZ_SEED fixes the run. Findings land in .fuzz/ (TARGET-crash-*,
# TARGET-timeout-*, TARGET-oom-*), logs in .fuzz/TARGET.log. Not part of `make test`. ASan returns NULL for a
# request it cannot serve (as glibc's malloc does for impossible sizes, which libhdf5 then reports as an error).
FUZZ_SECONDS ?= 60
FUZZ_SEED    ?= 1
FUZZ_TARGETS := importer converted dataset
FUZZ_RUN     := cd .fuzz && ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 ../.build-fuzz/debug/spikify-fuzz -seed=$(FUZZ_SEED) \
                -timeout=60 -rss_limit_mb=4096 -max_len=400000
fuzz-build: deps
	$(SWIFT) build --scratch-path .build-fuzz --product spikify-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DSPIKIFY_FUZZ -Xswiftc -use-ld=lld
	$(SWIFT) build --product spikify
	@mkdir -p .fuzz/seeds $(addprefix .fuzz/,$(FUZZ_TARGETS))
	@for f in Tests/Fixtures/*.h5 Tests/Fixtures/fuzz-regressions/*.h5; do [ $$(stat -c %s $$f) -lt 300000 ] && cp -n $$f .fuzz/seeds/ || true; done
	@cp Tests/Fixtures/timm_gelu_token.h5 .fuzz/model.h5
	@[ -f .fuzz/seeds/converted.h5 ] || .build/debug/spikify convert --model Tests/Fixtures/spikezip_qann_relu.h5 --out .fuzz/seeds/converted.h5 >/dev/null

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s (seed $(FUZZ_SEED))"; \
	  ( $(FUZZ_RUN) -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$$t- $$t seeds ) > .fuzz/$$t.log 2>&1 \
	    || { tail -60 .fuzz/$$t.log; echo "fuzz: $$t found a crash, hang or memory error (.fuzz/$$t.log)"; exit 1; }; \
	  grep -E "^Done [0-9]+ runs" .fuzz/$$t.log | sed "s/^/$$t: /"; \
	done

# CI's smoke run: FUZZ_SMOKE_RUNS inputs per target from a fixed seed (reproducible), then the structured mutation
# harness (tools/mutate_inputs.py, h5py edits of keys, graphs and attributes, absurd flags) with a fixed seed.
FUZZ_SMOKE_RUNS ?= 250
fuzz-smoke: fuzz-build $(VENV)/.h5py
	@for t in $(FUZZ_TARGETS); do \
	  ( $(FUZZ_RUN) -runs=$(FUZZ_SMOKE_RUNS) -artifact_prefix=$$t- $$t seeds ) > .fuzz/$$t.log 2>&1 \
	    || { tail -60 .fuzz/$$t.log; echo "fuzz-smoke: $$t found a crash, hang or memory error" >&2; exit 1; }; \
	  grep -E "^Done [0-9]+ runs" .fuzz/$$t.log | sed "s/^/fuzz-smoke $$t: /"; \
	done
	$(VENV)/bin/python tools/mutate_inputs.py --spikify .build/debug/spikify --count 4 --seed 1

# The mutation harness alone (MUTATE_COUNT mutants per class and input).
MUTATE_COUNT ?= 20
mutate: $(VENV)/.h5py
	$(SWIFT) build --product spikify
	$(VENV)/bin/python tools/mutate_inputs.py --spikify .build/debug/spikify --count $(MUTATE_COUNT) --seed $(FUZZ_SEED)

# h5py and numpy alone (the versions pinned in tools/requirements.txt), for the mutation harness.
$(VENV)/.h5py: tools/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q $$(grep -E '^(h5py|numpy)==' tools/requirements.txt)
	touch $@

clean:
	rm -rf .build .build-asan .build-fuzz .fuzz $(DEMO_OUT)
