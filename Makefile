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

demo: build
	@$(BUILD)/zonetrace demo

bench: build
	@bench/run

clean:
	rm -rf $(BUILD)
