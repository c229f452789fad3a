# Spikify — the two commands of the README are `make demo` and `make test`; each installs what it needs.
SWIFT      ?= swift
BIN        := .build/release/spikify
PYTHON     ?= python3
VENV       := .venv
TIMESTEPS  ?= 256
MST_TIMESTEPS ?= 64
MST_LIMIT  ?= 1000
DEMO_OUT   := out

.PHONY: all deps build test demo models fixtures keras-fixtures venv bench slurm-test deploy-check clean

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

# Converts the bundled MNIST ViTs with SpikeZIP-TF and MST and prints accuracy against timesteps on the bundled test set.
demo: build
	@mkdir -p $(DEMO_OUT)
	$(BIN) inspect models/vit-mnist-relu-qann16.h5
	$(BIN) predict --model models/vit-mnist-gelu.h5 --data models/data/mnist-test.h5 --out $(DEMO_OUT)/gelu-logits.h5
	@echo "== SpikeZIP-TF QAT QANN (16 levels): convert, then run until quiet"
	$(BIN) convert --model models/vit-mnist-relu-qann16.h5 --method spikezip --out $(DEMO_OUT)/relu-qann16-snn.h5
	$(BIN) eval --model $(DEMO_OUT)/relu-qann16-snn.h5 --data models/data/mnist-test.h5 --timesteps $(TIMESTEPS) --until-quiet --report $(DEMO_OUT)/relu-qann16.json
	@echo "== float ReLU ViT, 16 calibrated levels (training-free)"
	$(BIN) eval --model models/vit-mnist-relu.h5 --method spikezip --levels 16 --calib models/data/mnist-calib.h5 --data models/data/mnist-test.h5 --timesteps $(TIMESTEPS) --until-quiet --report $(DEMO_OUT)/relu-l16.json
	@echo "== float GELU ViT, 32 calibrated levels (training-free, differential GELU)"
	$(BIN) eval --model models/vit-mnist-gelu.h5 --method spikezip --levels 32 --calib models/data/mnist-calib.h5 --data models/data/mnist-test.h5 --timesteps $(TIMESTEPS) --until-quiet --report $(DEMO_OUT)/gelu-l32.json
	@echo "== MST-trained ViT (QCFS L = 16, BatchNorm blocks): convert, then $(MST_TIMESTEPS) steps on the first $(MST_LIMIT) test images"
	$(BIN) convert --model models/vit-mnist-mst16.h5 --method mst --out $(DEMO_OUT)/mst16-snn.h5
	$(BIN) eval --model $(DEMO_OUT)/mst16-snn.h5 --data models/data/mnist-test.h5 --timesteps $(MST_TIMESTEPS) --limit $(MST_LIMIT) --report $(DEMO_OUT)/mst16.json
	@echo "== the same trained with random spike masking p = 0.75 (masks on Q, K and score spikes, seed 0)"
	$(BIN) eval --model models/vit-mnist-mst16-mask75.h5 --method mst --mask-ratio 0.75 --data models/data/mnist-test.h5 --timesteps $(MST_TIMESTEPS) --limit $(MST_LIMIT) --report $(DEMO_OUT)/mst16-mask75.json

# Python tooling (only for regenerating models/ and Tests/Fixtures/; never needed to build or run Spikify).
$(VENV)/.installed: tools/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tools/requirements.txt
	touch $@

venv: $(VENV)/.installed

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

# ANN and SNN throughput, release build, against PyTorch measured in the same run (needs the venv).
bench: build venv
	tools/bench.sh

# A real single-node Slurm cluster (installs slurmctld/slurmd/munge with apt-get when missing): sharded eval as an
# array job + merge job (afterok), merged report compared with an unsharded run. Not part of `make test`.
# Uses .build/release/spikify when it has `eval --shards` and `merge`, else tools/spikify_standin.py.
slurm-test: build
	tools/slurm_test.sh

# Offline checks of deploy/k8s: YAML parse, invariants, and the pods' commands run locally (needs PyYAML).
deploy-check:
	$(PYTHON) tools/check_deploy.py

clean:
	rm -rf .build $(DEMO_OUT)
