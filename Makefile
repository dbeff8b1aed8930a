# The README's two commands: `make demo` and `make test`. Both install
# missing Debian packages (as root), configure into build/ and build.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test demo bench clean

all: build

deps:
	@bash .ci/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DZT_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The demo builds only what it needs, quietly, so its report is what the user sees.
demo:
	@echo "zonetrace demo: the CA::AttrList::set crash (building zonetrace first if needed)..."
	@bash .ci/deps.sh
	@cmake -S . -B $(BUILD) -DZT_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target zonetrace zonetrace_shared scenario_attrlist \
	    >$(BUILD)/demo-build.log 2>&1 || { tail -30 $(BUILD)/demo-build.log; exit 1; }
	@$(BUILD)/zonetrace demo

bench: build
	@bench/run

clean:
	rm -rf $(BUILD)
