# precis - the two commands a newcomer runs, and the ones developers use.
#
#   make demo        bootstrap, build, start the services, print how to connect
#   make test        bootstrap, build, unit tests + live tests (real services)
#
#   make build       configure and build into $(BUILD)
#   make unit        unit tests only          make live   live tests only
#   make asan        build with ASan+UBSan into build-asan; run unit and live tests
#                    (the live broker loads the sanitized plugins)
#   make valgrind    unit tests under valgrind, then the live tests with the broker
#                    (and so the plugins) under valgrind memcheck
#   make valgrind-unit  only the unit tests under valgrind (what CI runs)
#   make fuzz        build the tests/fuzz targets with clang (libFuzzer, ASan+UBSan) into
#                    build-fuzz and run each for FUZZ_SECONDS (20); a crash fails and its
#                    input lands in tests/fuzz/regressions/<target>/ (scripts/fuzz)
#   make format      clang-format every C file; make format-check verifies
#   make bench       run the benchmarks (ratios against a baseline in the same run)
#   make bench-command  heartbeat -> command latency and hb/ack throughput (bench/command-latency)
#   make bench-store the store plugin's benchmark (bench/store; BENCH_ARGS=--quick)
#   make image-check build the Docker images with buildah and check them (scripts/check-image)
#   make demo-stop   stop what make demo started
#   make clean       remove build trees (not var/ or .deps/)
#
# PRECIS_WERROR=ON makes warnings errors (CI sets it).

MAKEFLAGS += --no-print-directory

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
PRECIS_WERROR ?= OFF
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all bootstrap configure build test unit live demo demo-stop asan valgrind valgrind-unit fuzz bench \
	bench-store format format-check clean

all: build

bootstrap:
	@scripts/bootstrap

configure:
	@cmake -S . -B $(BUILD) -DPRECIS_WERROR=$(PRECIS_WERROR) $(CMAKE_ARGS) >/dev/null

build: bootstrap configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -L unit -j $(JOBS)
	@ctest --test-dir $(BUILD) --output-on-failure -L live

unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -L unit -j $(JOBS)

live: build
	@ctest --test-dir $(BUILD) --output-on-failure -L live

demo: build
	@scripts/demo

demo-stop:
	@scripts/demo stop
	@scripts/services stop

bench: build
	@bench/broker-overhead
	@bench/auth-overhead

.PHONY: bench-command
bench-command: build
	@bench/command-latency

bench-store: build
	@bench/store $(BENCH_ARGS)

.PHONY: image-check
image-check: bootstrap
	@scripts/check-image

asan: bootstrap
	@cmake -S . -B $(ASAN_BUILD) -DPRECIS_WERROR=$(PRECIS_WERROR) \
		-DPRECIS_SANITIZE=address,undefined $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -L unit -j $(JOBS)
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -L live

valgrind: valgrind-unit
	@PRECIS_MOSQUITTO_VALGRIND=1 ctest --test-dir $(BUILD) --output-on-failure -L live

valgrind-unit: build
	@scripts/valgrind-unit $(BUILD)

fuzz: bootstrap
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) PRECIS_WERROR=$(PRECIS_WERROR) \
		JOBS=$(JOBS) scripts/fuzz

format: configure
	@cmake --build $(BUILD) --target format

format-check: configure
	@cmake --build $(BUILD) --target format-check

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
