# The two commands in README.md: `make demo` (the main job on built-in data) and `make test`.
# Both run scripts/setup.sh first, which installs what a fresh machine lacks and is quick when done.
SWIFT ?= swift
BIN = .build/release/vidpred

.PHONY: setup build demo test bundle bench-engine clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product vidpred
	@echo "built $(BIN)"

demo: build
	$(BIN) demo

# One libtorch thread for the whole test process: Swift Testing runs suites in parallel (more
# threads would only oversubscribe the cores), and a thread count that changed mid-run (a suite
# setting it) would change float reduction orders under tests that check bit-exact results.
# The crash tests run the `vidpred` binary itself (killed and resumed), so it is built first.
# Then the portable bundle is made and run in a clean environment (scripts/test-bundle.sh).
test: setup
	$(SWIFT) build --product vidpred
	OMP_NUM_THREADS=1 $(SWIFT) test
	bash scripts/test-bundle.sh

# dist/vidpred-VERSION-linux-x86_64.tar.gz: a static binary and a launcher that finds libtorch
# (LIBTORCH, else the torch of python3), for machines with PyTorch and no Swift (README).
bundle: setup
	bash scripts/make-bundle.sh

bench-engine: setup
	bash Benchmarks/engine.sh

clean:
	rm -rf .build .build-bundle dist
