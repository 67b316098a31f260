# Switchyard: `make run` serves MCP on 127.0.0.1:8080; `make test` runs every test.
# Both install missing Debian packages first (as root; otherwise they print the command).

SHELL := /bin/bash
DEBIAN_PACKAGES := pkg-config libuv1-dev libzstd-dev libhiredis-dev libssl-dev zstd
# Tests only: a real browser for the status page (the Prometheus harness installs prometheus itself);
# the openssl CLI makes the TLS tests' CA and certificates at test time; RedisTests and the
# several-hosts tests start real redis-server and redis-sentinel processes (redis-tools, a
# dependency, brings redis-cli), HAProxy and nginx (test_balancers.py), curl (deploy/local-hosts.sh).
TEST_PACKAGES := chromium openssl redis-server redis-sentinel haproxy nginx curl iproute2
PYTHON ?= python3
VENV := .venv
HOST ?= 127.0.0.1
PORT ?= 8080
SERVE_ARGS ?=
FUZZ_SECONDS ?= 20
BIN := .build/release/switchyard

.PHONY: run test build deps test-deps venv unit integration proto-test fuzz fuzz-smoke clean \
        schema-data schema-suite schema-differential

run: deps build
	$(BIN) serve --host $(HOST) --port $(PORT) $(SERVE_ARGS)

test: deps test-deps build venv schema-data unit fuzz-smoke proto-test bench-smoke soak-smoke integration

build:
	swift build -c release --product switchyard

test-deps:
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(TEST_PACKAGES)"

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages; run:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# The official MCP Python SDK (a real client) and pytest, in a local virtual environment.
venv: $(VENV)/.ready
$(VENV)/.ready:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q "mcp>=2.3,<3" "pytest>=8" "jsonschema>=4.23,<5" "pyjwt[crypto]>=2.8"
	touch $@

# Test data for Sources/SchemaValidation that is not committed (README.md, "Argument validation"):
# the official JSON-Schema-Test-Suite, as carried by the pinned jsonschema sdist under json/tests/,
# and differential cases whose verdicts Python's jsonschema gives (fixed seed).
JSONSCHEMA_SDIST := 4.26.0
SCHEMA_SUITE := .build/schema-suite
SCHEMA_CASES := .build/schema-differential/cases.jsonl
schema-data: schema-suite schema-differential

schema-suite: venv
	@if [ ! -d $(SCHEMA_SUITE)/tests/draft2020-12 ]; then \
	  rm -rf $(SCHEMA_SUITE) && mkdir -p $(SCHEMA_SUITE)/download && \
	  $(VENV)/bin/pip download -q --no-deps --no-binary :all: jsonschema==$(JSONSCHEMA_SDIST) \
	    -d $(SCHEMA_SUITE)/download && \
	  tar -xzf $(SCHEMA_SUITE)/download/jsonschema-$(JSONSCHEMA_SDIST).tar.gz -C $(SCHEMA_SUITE)/download && \
	  mv $(SCHEMA_SUITE)/download/jsonschema-$(JSONSCHEMA_SDIST)/json/tests $(SCHEMA_SUITE)/tests && \
	  rm -rf $(SCHEMA_SUITE)/download && echo "schema suite: $(SCHEMA_SUITE)/tests (jsonschema $(JSONSCHEMA_SDIST))"; \
	fi

schema-differential: venv
	@$(VENV)/bin/python -c 'import jsonschema' 2>/dev/null || $(VENV)/bin/pip install -q "jsonschema>=4.23,<5"
	$(VENV)/bin/python Tests/schema/differential.py --seed 2020 --schemas 1500 --out $(SCHEMA_CASES)

# SCHEMA_DATA_REQUIRED: the suite and differential tests fail, not skip, without their data.
unit: schema-data
	SCHEMA_DATA_REQUIRED=1 swift test --disable-swift-testing

proto-test: venv
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider proto/tests

integration: venv build
	SWITCHYARD_BIN=$(abspath $(BIN)) $(VENV)/bin/python -m pytest -q -p no:cacheprovider Tests/Integration

# libFuzzer targets (README.md, "Fuzzing"): C parsers fed by the network (CSupport/fuzz/, built
# with clang) and Swift targets (Fuzz/, a package of its own built with SwiftPM's sanitizers in
# .build/fuzz-swift, so normal builds are untouched). `fuzz-smoke` (in `make test`) gives each
# target 5 s; `make fuzz FUZZ_SECONDS=600` is the long run. Crashes land in .build/fuzz/crash_*.
FUZZ_CC := $(shell command -v clang 2>/dev/null)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -ICSupport/core/include
FUZZ_SRC := CSupport/core/http.c CSupport/core/json.c CSupport/core/frame.c CSupport/core/util.c
C_FUZZ_TARGETS := http json frame
SWIFT_FUZZ_TARGETS := $(notdir $(wildcard Fuzz/Targets/*))
# swiftc keeps only the last of several -sanitize= flags, so SwiftPM's `--sanitize fuzzer
# --sanitize address` would leave Swift code without coverage (libFuzzer blind to it): the
# -Xswiftc flag, which comes last, names both. `--sanitize fuzzer` stays for SwiftPM itself (it
# then links the executables without a main of their own) and for the C targets' coverage.
# Fuzz/Package.swift lists its targets from Fuzz/Targets/, which SwiftPM's shared manifest cache
# cannot see: an unchanged manifest in the same place would keep an old target list (a new
# target's binary then never gets built), hence `--manifest-cache none`.
FUZZ_SWIFT_BUILD := swift build -c release --package-path Fuzz --scratch-path $(CURDIR)/.build/fuzz-swift \
  --manifest-cache none \
  --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address \
  -Xswiftc -enable-testing -Xswiftc -parse-as-library

fuzz: FUZZ_TIME = $(FUZZ_SECONDS)
fuzz: fuzz-run
fuzz-smoke: FUZZ_TIME = 5
fuzz-smoke: fuzz-run

# One target: name, binary, seed directory, max_len, committed corpus. New inputs go to
# .build/fuzz/corpus_<name>; `make fuzz-merge` folds them, minimized, into the committed corpus.
define fuzz_one
mkdir -p .build/fuzz/corpus_$(1) $(5); \
SWIFT_BACKTRACE=enable=no $(2) -max_total_time=$(FUZZ_TIME) -max_len=$(4) -timeout=20 -print_final_stats=1 \
  -artifact_prefix=.build/fuzz/crash_$(1)- .build/fuzz/corpus_$(1) $(3) $(5) \
  > .build/fuzz/run_$(1).log 2>&1 || { tail -60 .build/fuzz/run_$(1).log; exit 1; }; \
echo "fuzz $(1): $$(grep -o 'Done [0-9]* runs' .build/fuzz/run_$(1).log), no crash in $(FUZZ_TIME)s" \
  | tee -a .build/fuzz/summary.txt
endef

.PHONY: fuzz-run fuzz-build
fuzz-build:
	@mkdir -p .build/fuzz
	@for t in $(C_FUZZ_TARGETS); do \
	  $(FUZZ_CC) $(FUZZ_FLAGS) CSupport/fuzz/fuzz_$$t.c $(FUZZ_SRC) -o .build/fuzz/fuzz_$$t \
	    2> .build/fuzz/build_$$t.log || { cat .build/fuzz/build_$$t.log; exit 1; }; \
	done
	@$(FUZZ_SWIFT_BUILD) > .build/fuzz/build_swift.log 2>&1 || { tail -60 .build/fuzz/build_swift.log; exit 1; }

fuzz-run: fuzz-build
	@: > .build/fuzz/summary.txt
	@for t in $(C_FUZZ_TARGETS); do \
	  $(call fuzz_one,$$t,.build/fuzz/fuzz_$$t,CSupport/fuzz/seeds/$$t,65536,CSupport/fuzz/corpus/$$t); \
	done
	@bin=$$($(FUZZ_SWIFT_BUILD) --show-bin-path); for t in $(SWIFT_FUZZ_TARGETS); do \
	  $(call fuzz_one,$$t,$$bin/fuzz_$$t,Fuzz/seeds/$$t,8192,Fuzz/corpus/$$t); \
	done

# Folds what the runs found into the committed corpora, keeping only inputs that add coverage.
.PHONY: fuzz-merge
fuzz-merge: fuzz-build
	@for t in $(C_FUZZ_TARGETS); do mkdir -p CSupport/fuzz/corpus/$$t; \
	  .build/fuzz/fuzz_$$t -merge=1 CSupport/fuzz/corpus/$$t .build/fuzz/corpus_$$t > .build/fuzz/merge_$$t.log 2>&1; \
	  echo "merge $$t: $$(ls CSupport/fuzz/corpus/$$t | wc -l) inputs"; done
	@bin=$$($(FUZZ_SWIFT_BUILD) --show-bin-path); for t in $(SWIFT_FUZZ_TARGETS); do mkdir -p Fuzz/corpus/$$t; \
	  SWIFT_BACKTRACE=enable=no $$bin/fuzz_$$t -merge=1 Fuzz/corpus/$$t .build/fuzz/corpus_$$t \
	    > .build/fuzz/merge_$$t.log 2>&1; echo "merge $$t: $$(ls Fuzz/corpus/$$t | wc -l) inputs"; done

# The unit tests under sanitizers, each build in its own scratch path (normal builds untouched):
# AddressSanitizer on Swift and C with UndefinedBehaviorSanitizer on the C targets (swiftc has
# no -sanitize=undefined on Linux; ASan's runtime carries UBSan's handlers), then
# ThreadSanitizer on both; then the C fuzz drivers (ASan+UBSan) replay their seeds and corpora.
# Any report fails the run. README.md, "Sanitizers".
SANITIZE_TEST := swift test --disable-swift-testing
# LeakSanitizer is off for the XCTest process, not for the fuzz targets: XCTest keeps every test
# case object (and what its properties hold) in cycles of its own, and a libuv Loop lives as long
# as the process by design, so its reports there are XCTest's and the Loops'. The leak checks
# that mean something run where ownership is complete: every fuzz input (libFuzzer's
# -detect_leaks, on by default) and the chunk-pool counts the tests and the request_layer target
# assert. The two leaks LSan did find in our code were fixed (HTTPConnection's head storage when
# a connection is freed without its close; a test's pipe handle).
SANITIZE_ENV := ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 SWIFT_BACKTRACE=enable=no

.PHONY: test-sanitize sanitize-address sanitize-thread sanitize-c
test-sanitize: deps sanitize-address sanitize-thread sanitize-c

sanitize-address:
	$(SANITIZE_ENV) $(SANITIZE_TEST) --scratch-path .build/sanitize --sanitize address \
	  -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined

sanitize-thread:
	$(SANITIZE_ENV) $(SANITIZE_TEST) --scratch-path .build/sanitize-thread --sanitize thread

sanitize-c:
	@mkdir -p .build/fuzz
	@for t in $(C_FUZZ_TARGETS); do \
	  $(FUZZ_CC) $(FUZZ_FLAGS) CSupport/fuzz/fuzz_$$t.c $(FUZZ_SRC) -o .build/fuzz/fuzz_$$t \
	    2> .build/fuzz/build_$$t.log || { cat .build/fuzz/build_$$t.log; exit 1; }; \
	  mkdir -p CSupport/fuzz/corpus/$$t; \
	  $(SANITIZE_ENV) .build/fuzz/fuzz_$$t -runs=0 CSupport/fuzz/seeds/$$t CSupport/fuzz/corpus/$$t \
	    > .build/fuzz/replay_$$t.log 2>&1 \
	    || { tail -40 .build/fuzz/replay_$$t.log; exit 1; }; \
	  echo "sanitize-c $$t: $$(grep -o 'seed corpus: files: [0-9]*' .build/fuzz/replay_$$t.log), no report"; \
	done

clean:
	rm -rf .build $(VENV)

# Benchmarks (bench/README.md): switchyard-bench against Switchyard and its anchors.
BENCH_PACKAGES := nginx-light jq curl wrk
.PHONY: bench bench-smoke bench-build bench-deps profile soak soak-smoke
bench-build: build
	swift build -c release --product switchyard-bench

bench-deps:
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	command -v nginx >/dev/null && missing=$${missing/ nginx-light/}; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages; run:  sudo apt-get install -y$$missing"; exit 1; fi; \
	fi

# The standard set of scenarios, every anchor side by side (several minutes).
bench: deps bench-deps bench-build
	BIN_DIR=.build/release bench/run.sh standard

# A perf profile of the fronts and executors under load: sorted reports and folded stacks
# in bench/results/profile-DATE (bench/profile.sh says which knobs it takes).
profile: deps bench-deps bench-build
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="linux-perf"
	BIN_DIR=.build/release bench/profile.sh

# A 5-second closed loop against Switchyard that fails on any error.
bench-smoke: deps bench-build
	BIN_DIR=.build/release bench/run.sh smoke

# 3,000 sessions at 5,000 req/s for 30 minutes, an executor SIGKILLed every minute: no failed
# call, RSS growth under 5% after a 2-minute warm-up, no descriptor growth (bench/soak.sh).
soak: deps bench-build
	BIN_DIR=.build/release bench/soak.sh

# The same for 60 s at 2,000 req/s over 1,000 sessions, an executor killed every 15 s: no failed
# call and no descriptor growth; RSS within 20% (a minute is too short for the 5% bound).
soak-smoke: deps bench-build
	DURATION=60 WARMUP=20 RATE=2000 SESSIONS=1000 KILL_EVERY=15 MAX_GROWTH_PCT=20 \
	  OUT=.build/soak-smoke BIN_DIR=.build/release bench/soak.sh
