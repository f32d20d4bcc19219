# awsm - top-level entry points. CMake does the building; this file names
# the jobs. `make check` is what .ci/run and the README's test command run.

JOBS      ?= $(shell nproc)
BUILD     ?= build
ASAN      ?= build-asan
CMAKE_ARGS ?=

.PHONY: all build asan run check test examples clean bench-compile

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DAWSM_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN) -j $(JOBS)

# Example modules: C compiled to wasm32-wasi with clang and wasi-libc.
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%.wasm,$(wildcard examples/*.c))
$(BUILD)/examples/%.wasm: examples/%.c
	@mkdir -p $(dir $@)
	clang --target=wasm32-wasi -O2 $< -o $@

examples: $(EXAMPLES)

# The main job, for now: build, compile the examples to wasm, check them and
# compile them to native shared objects. (Running them needs WASI, issue 4.)
run: build examples
	$(BUILD)/bin/awsm validate -v $(EXAMPLES)
	for w in $(EXAMPLES); do $(BUILD)/bin/awsmc -O2 $$w -o $${w%.wasm}.so && \
	  echo "$${w%.wasm}.so: compiled"; done

bench-compile: build
	bench/compile/run.sh $(BUILD)

# Every test: the release build and the sanitizer build, unit, CLI, fuzz
# smoke and spec tests. The sanitizer build runs the fuzz smoke test.
check: build asan examples
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -E fuzz
	@scripts/spec-summary.sh $(BUILD)
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS)

test: check

clean:
	rm -rf $(BUILD) $(ASAN)
