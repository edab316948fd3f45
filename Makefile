# Sluice: the two commands a new user needs are `make run` and `make test`.
# Both install missing system packages first (scripts/install-deps.sh).

SWIFT ?= swift
# Importing a package target outside a target's dependencies fails the build (SwiftPM checks
# only its own targets, transitively; scripts/check-imports.py in `make lint` checks the rest).
IMPORT_CHECK = --explicit-target-dependency-import-check error
BUILD = $(SWIFT) build $(IMPORT_CHECK)
RELEASE_FLAGS = -c release

.PHONY: lint fuzz run run-single test test-compat faults build release bench bench-broker bench-clients bench-replication deps deps-test clean help

help:
	@echo "make run    - build and start a 3-node Sluice cluster with a demo topic (Ctrl-C stops it)"
	@echo "make run-single - one development node on 127.0.0.1:9092 (data in data/dev)"
	@echo "make test   - run every test (unit, simulation, real clients)"
	@echo "make test-compat - only the real-client compatibility suite (Tests/compat)"
	@echo "make faults - the fault-injection harness on fixed seeds (docs/RELIABILITY.md; also the last step of make test)"
	@echo "make bench  - run the benchmarks (release build); figures go to docs/BENCHMARKS.md"
	@echo "make lint   - imports only of declared dependencies, no try! outside tests and benchmarks, swift format lint"
	@echo "make fuzz   - every libFuzzer target (Fuzz/) for FUZZ_TIME seconds each; scripts/fuzz.sh --time 1h for long runs"
	@echo "make bench-clients - the Swift client (sluice bench) beside librdkafka on a local 3-node cluster"

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	$(BUILD)

release: deps
	$(BUILD) $(RELEASE_FLAGS)

run: deps-test
	$(BUILD) --product sluice-server
	$(BUILD) --product sluice
	scripts/run-demo.sh

run-single: deps
	$(BUILD) --product sluice-server
	$(SWIFT) run $(IMPORT_CHECK) sluice-server

# Real Kafka clients against sluice-server (Tests/compat/README.md). A broker that never becomes
# ready fails the suite; SLUICE_COMPAT_ALLOW_SKIP=1 turns that into skips (for harness work only).
SLUICE_COMPAT_ALLOW_SKIP ?= 0
COMPAT = SLUICE_COMPAT_ALLOW_SKIP=$(SLUICE_COMPAT_ALLOW_SKIP) python3 -m pytest Tests/compat

test: deps-test
	$(BUILD) --build-tests
	$(SWIFT) test --skip-build
	$(COMPAT)
	scripts/faults/suite

# Real nodes killed, paused and cut off under load, checked for lost, duplicated and reordered
# records (docs/RELIABILITY.md); a soak is scripts/faults/run --duration 7200 --seed N --out DIR.
faults: deps-test
	$(BUILD) --product sluice-server
	$(BUILD) --product sluice
	scripts/faults/suite

test-compat: deps-test
	$(BUILD) --product sluice-server
	$(COMPAT)

bench: deps
	$(BUILD) $(RELEASE_FLAGS) --product sluice-bench
	$(SWIFT) run $(RELEASE_FLAGS) --skip-build sluice-bench

# RF 1 acks=1 beside RF 3 acks=all on 3 local nodes, plaintext and TLS (docs/BENCHMARKS.md).
bench-replication: deps-test
	$(BUILD) $(RELEASE_FLAGS) --product sluice-server
	python3 scripts/bench-replication.py

bench-broker: deps-test
	$(BUILD) $(RELEASE_FLAGS) --product sluice-server
	python3 scripts/bench-broker.py

# The Swift client beside confluent-kafka (librdkafka) on a local 3-node cluster, same records and
# settings, same run (docs/BENCHMARKS.md, "Swift client vs librdkafka"). BENCH_CLIENTS_ARGS passes
# options through, e.g. BENCH_CLIENTS_ARGS="--records 200000 --compression lz4".
BENCH_CLIENTS_ARGS ?=
bench-clients: deps-test
	$(BUILD) $(RELEASE_FLAGS) --product sluice-server
	$(BUILD) $(RELEASE_FLAGS) --product sluice
	python3 scripts/bench-clients.py $(BENCH_CLIENTS_ARGS)

# Fast (a few seconds, no build): scripts/lint.sh says what each check is.
lint:
	scripts/lint.sh

# Each libFuzzer target of Fuzz/ for FUZZ_TIME seconds (scripts/fuzz.sh --time 1h for long runs).
FUZZ_TIME ?= 30
fuzz:
	scripts/fuzz.sh --time $(FUZZ_TIME)

clean:
	rm -rf .build
