# The two commands the README promises: `make run` and `make test`.
SWIFT ?= swift
RELEASE_BIN := .build/release/batchwise
BENCH_BIN := .build/release/batchwise-bench

.PHONY: run test deps build release bench clean examples docs test-sanitize soak fuzz mutate test-under-load

deps:
	@NEED_H5DUMP=1 ./scripts/ensure-system-packages.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product batchwise

# The benchmarks are their own executable, not part of the shipped CLI (docs/PERFORMANCE.md).
.PHONY: release-bench
release-bench: deps
	$(SWIFT) build -c release --product batchwise-bench

# The main job: the seed experiment on built-in data, with its chart written here.
run: release
	$(RELEASE_BIN) experiment --plot seed-experiment.svg

test: deps
	./scripts/run-tests.sh

# The long fuzz campaign (make test runs 200 cases); see docs/RELIABILITY.md.
fuzz: deps
	BATCHWISE_FUZZ_CASES=5000 BATCHWISE_FUZZ_CLI_CASES=5000 $(SWIFT) test --filter Fuzz

# Builds and runs Examples/ and the downstream package Examples/Downstream.
examples: deps
	./scripts/run-examples.sh

# DocC for every public module, one combined site in docs-build/ (fails on any warning).
docs: deps
	./scripts/build-docs.sh

bench: release-bench
	./Benchmarks/run-all.sh

# Datasets, HDF5 and Training tests under Thread and Address Sanitizer (.build-tsan, .build-asan).
test-sanitize: deps
	./scripts/run-sanitized-tests.sh

# Trains for 10 minutes (release) with checkpoints, sampling resident memory; fails on >5% growth.
soak: release-bench
	$(BENCH_BIN) soak --minutes 10

# Applies each mutation of scripts/mutate.sh to a scratch copy (.build-mutate) and runs the tests
# that must catch it; fails unless every one is caught (docs/TESTING.md lists them).
mutate: deps
	./scripts/mutate.sh

# `make test` 3 times in a row while two busy loops keep both cores loaded (docs/TESTING.md).
test-under-load: deps
	./scripts/test-under-load.sh 3

clean:
	rm -rf .build .build-tsan .build-asan .build-mutate
