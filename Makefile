# kharness: boot a matrix of Linux kernels under QEMU and compare syscall costs.
GO        ?= go
CONFIG    ?= configs/default.toml
RUN       ?= runs/$(notdir $(basename $(CONFIG)))-$(shell date +%Y%m%d-%H%M%S)
FUZZTIME  ?= 5s

.PHONY: all build deps test-deps run test unit fuzz bench vet clean

all: build

build:
	$(GO) build -o bin/kharness ./cmd/kharness

# deps installs what a fresh Debian machine lacks to run kharness: QEMU, gcc
# (the counting plugin) and apt's package lists (kernels are fetched with
# apt-get download); test-deps adds what only the tests need. As root they
# install; otherwise they print the command to run.
deps:
	@sh ./.ci/deps

test-deps:
	@sh ./.ci/deps test

run: deps build
	bin/kharness run -o $(RUN) $(CONFIG)

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }

# The Go compiler collects garbage less often with GOGC=400: a cold compile
# of harness's tests took 122 CPU-s instead of 142 (README, Tests), at
# the cost of memory the 2-core machines have plenty of. The tests build
# without cgo (kharness has no C in it): how Go builds the standard library
# then does not hang on whether gcc is installed yet, so make test can
# install packages while it compiles.
test vet unit fuzz bench: export GOGC := $(or $(GOGC),400)
test vet unit fuzz bench: export CGO_ENABLED := 0

# test: unit tests and real boots under TCG, the fuzzers' corpora among
# them. The tests' boots check what kharness does, not how fast the guest
# runs: one VM per host core (KHARNESS_JOBS), as many as the cores allow.
# Fuzzing is its own step (make fuzz; CI runs both): its instrumented builds
# of every package were a tenth of a cold make test.
# On a fresh machine the packages (QEMU and gcc, Chromium, the kernel
# source and its build tools) install while vet compiles: apt waits on the
# network and dpkg on the disk, vet on the CPU.
test:
	@$(MAKE) --no-print-directory test-deps & deps=$$!; \
		$(MAKE) --no-print-directory vet; vet=$$?; \
		wait $$deps || { echo "make test: installing the packages the tests need failed"; exit 1; }; \
		exit $$vet
	KHARNESS_JOBS=$$(nproc) $(GO) test -count=1 -timeout 30m ./...

unit:
	$(GO) test -count=1 -short ./...

fuzz:
	FUZZTIME=$(FUZZTIME) ./.ci/fuzz

bench: test-deps
	$(GO) test -run=NONE -bench=. -benchtime=1x -count=1 -timeout 30m ./...

clean:
	rm -rf bin

# fidelity: boot one kernel, time the core cases in Go and in C in the same
# boot, print Go ÷ C per case.
FIDELITY_RUN ?= runs/fidelity-$(shell date +%Y%m%d-%H%M%S)
.PHONY: fidelity
fidelity: deps build
	bin/kharness run -o $(FIDELITY_RUN) configs/fidelity.toml
	bin/kharness fidelity $(FIDELITY_RUN)
