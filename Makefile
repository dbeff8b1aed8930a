# The README's two commands: `make demo` and `make test`. Both install
# missing Debian packages (as root), configure into build/ and build.
# `make check` is the fast tier of `make test` (ctest labels, CMakeLists.txt).
BUILD ?= build
JOBS ?= $(shell nproc)
FAST_LABELS = ^(unit|api|fidelity|golden|style)$$

.PHONY: all deps build test check demo bench clean

all: build

deps:
	@bash .ci/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DZT_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# Unit, API, fidelity, golden and format tests: under a minute on two cores. Not the
# stress, debug, valgrind, sanitizer, fuzz, scenario, override or bench tests.
check: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900 -L '$(FAST_LABELS)'

# The demo builds only what it needs, quietly, so its report is what the user sees.
demo:
	@echo "zonetrace demo: the CA::AttrList::set crash (building zonetrace first if needed)..."
	@bash .ci/deps.sh
	@cmake -S . -B $(BUILD) -DZT_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target zonetrace zonetrace_shared scenario_attrlist scenario_jetsam_grow scenario_xzone_highwater \
	    >$(BUILD)/demo-build.log 2>&1 || { tail -30 $(BUILD)/demo-build.log; exit 1; }
	@$(BUILD)/zonetrace demo

bench: build
	@bench/run

clean:
	rm -rf $(BUILD)
