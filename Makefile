# awsm - top-level entry points. CMake does the building; this file names
# the jobs. `make check` is what .ci/run and the README's test command run.

JOBS      ?= $(shell nproc)
BUILD     ?= build
ASAN      ?= build-asan
TSAN      ?= build-tsan
CMAKE_ARGS ?=

.PHONY: all build asan tsan run demo check test examples clean bench-compile bench bench-serve bench-proposals fuzz fuzz-diff

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DAWSM_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN) -j $(JOBS)

# ThreadSanitizer: the tests of what runs on several threads at once (the
# interrupt protocol between the timer, workers and guest code; instances
# sharing a module; the scheduler and the HTTP server under load). Not the
# others: a guard-page trap jumps out of the SIGSEGV handler, on the
# alternate signal stack, and gcc's TSan cannot follow that longjmp.
TSAN_TESTS := unit_interrupt|unit_threads|unit_partitions|server_sched|server_http
tsan:
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAWSM_TSAN=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(TSAN) -j $(JOBS)

# Example modules: C compiled to wasm32-wasi with clang and wasi-libc.
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%.wasm,$(wildcard examples/*.c))
$(BUILD)/examples/%.wasm: examples/%.c
	@mkdir -p $(dir $@)
	clang --target=wasm32-wasi -O2 $< -o $@

examples: $(EXAMPLES)

# The main job: awsmrt serving the example apps (examples/test_modules.json);
# the requests of examples/test_sandboxes.jsondata are sent and their
# replies shown, then it serves until Ctrl-C. `make demo`: stop after the
# replies.
run: build examples
	scripts/serve-examples.sh $(BUILD)

demo: build examples
	scripts/serve-examples.sh $(BUILD) --once

bench-compile: build
	bench/compile/run.sh $(BUILD)

# Run-time benchmarks: native, awsm (guard, checked), wasm2c and node
# (bench/run.sh). QUICK=1: small sizes, 3 runs, under a minute.
bench: build
	bench/run.sh $(if $(filter 1,$(QUICK)),--quick) $(BUILD)

# Serving benchmark: sandbox life cycle, awsmrt against a native UDP echo
# server on loopback, idle sandboxes (bench/serve/run.sh).
bench-serve: build
	bench/serve/run.sh $(if $(filter 1,$(QUICK)),--quick) $(BUILD)

# What the proposals past Wasm 2.0 cost against their Wasm 2.0 peers:
# memory64's checks, atomics on an unshared memory, tail-call modules'
# ordinary calls (bench/proposals/run.sh).
bench-proposals: build
	bench/proposals/run.sh $(if $(filter 1,$(QUICK)),--quick) $(BUILD)

# Every test: the release build and the sanitizer build, unit, CLI, fuzz
# smoke and spec tests (the sanitizer build runs the fuzz smoke tests),
# then the threaded ones under ThreadSanitizer.
check: build asan tsan examples
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -E fuzz
	@scripts/spec-summary.sh $(BUILD)
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS)
	cd $(TSAN) && ctest --output-on-failure -j $(JOBS) -R '^($(TSAN_TESTS))$$'

test: check

# Every libFuzzer target for FUZZ_SECONDS each (default 600), corpora kept
# in build-fuzz/ between runs (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 600
fuzz:
	for t in wasm compile config request http; do \
	    bash tests/fuzz/run.sh -t $(FUZZ_SECONDS) -o build-fuzz/$$t $$t || exit 1; \
	done

# The differential fuzzer against node (tests/fuzz/diff.sh) over
# DIFF_COUNT seeds from DIFF_FIRST (default 5,000 from 1,000,000) of
# binaryen's modules, then as many of diff_precise.py's, one job per core;
# mismatches are kept in build-fuzz/diff/ and build-fuzz/diff-precise/.
DIFF_FIRST ?= 1000000
DIFF_COUNT ?= 5000
fuzz-diff: build
	bash tests/fuzz/diff.sh --awsm $(BUILD)/bin/diff_awsm -o build-fuzz/diff \
	    $(DIFF_FIRST) $(DIFF_COUNT)
	bash tests/fuzz/diff.sh --gen precise --awsm $(BUILD)/bin/diff_awsm \
	    -o build-fuzz/diff-precise $(DIFF_FIRST) $(DIFF_COUNT)

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN)
