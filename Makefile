# Prowl's make targets. `make run` and `make test` are the README's two commands: each installs what
# it needs first (Go modules through the module proxy; the control-plane binaries, built once from
# Go modules into $(PROWL_CACHE)/bin).
SHELL := /usr/bin/env bash
GO ?= go
export PROWL_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/prowl
GOLANGCI_VERSION := v2.15.0
GOLANGCI := $(PROWL_CACHE)/tools/golangci-lint-$(GOLANGCI_VERSION)/golangci-lint
TEST_FLAGS ?= -timeout 30m
# RBAC_COMPONENTS are component=package pairs whose RBAC markers make config/rbac/<component>/role.yaml.
RBAC_COMPONENTS := plank=plank horologium=horologium hook=trigger crier=crier deck=deck sinker=sinker

.PHONY: all build test run generate lint bench controlplane clean fuzz chaos

all: build

build:
	$(GO) build -o bin/ ./cmd/...

# controlplane builds kube-apiserver, etcd and kubectl into the cache once (about 7 minutes cold).
controlplane:
	@hack/controlplane/build.sh >/dev/null

test: controlplane
	KUBEBUILDER_ASSETS="$$(hack/controlplane/build.sh)" $(GO) test $(TEST_FLAGS) ./...

# chaos runs the whole-system chaos e2e (test/e2e TestChaos) at full size: 2,000 jobs, 10 SIGKILLs
# of the controller manager, 3 restarts each of the API server and the local node, 3 Hook kills
# (make test runs it at about 200 jobs). PROWL_CHAOS_SEED=N replays a run's load and fault points;
# PROWL_CHAOS_LOGS=DIR keeps every part's log in DIR/chaos-*. It needs root, as the local node does.
PROWL_CHAOS_JOBS ?= 2000
chaos: controlplane
	PROWL_CHAOS_JOBS=$(PROWL_CHAOS_JOBS) KUBEBUILDER_ASSETS="$$(hack/controlplane/build.sh)" $(GO) test -timeout 3h -count=1 -v -run '^TestChaos$$' ./test/e2e

run: build controlplane
	@hack/run.sh

generate:
	$(GO) tool controller-gen object paths=./api/...
	$(GO) tool controller-gen crd paths=./api/... output:crd:dir=config/crd
	@for c in $(RBAC_COMPONENTS); do $(GO) tool controller-gen rbac:roleName=prowl-$${c%%=*} paths=./internal/$${c#*=}/... output:rbac:dir=config/rbac/$${c%%=*} || exit 1; done
	@hack/sync-chart.sh

# lint fails when golangci-lint cannot be installed or run: a lint that did not run says nothing.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if [ ! -x "$(GOLANGCI)" ]; then \
	  echo "installing golangci-lint $(GOLANGCI_VERSION) from the Go module proxy into $(dir $(GOLANGCI))"; \
	  GOBIN="$(dir $(GOLANGCI))" $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION) \
	    || { echo "make lint: golangci-lint $(GOLANGCI_VERSION) did not install (it comes from the Go module proxy: check GOPROXY and the network)"; exit 1; }; \
	fi
	"$(GOLANGCI)" run ./...

# bench runs the benchmarks and prints one table; a whole run (no -only in BENCH_FLAGS) also
# writes it to docs/benchmarks.md, under hack/benchmarks-header.md.
bench: controlplane
	@mkdir -p bin; set -o pipefail; KUBEBUILDER_ASSETS="$$(hack/controlplane/build.sh)" $(GO) run ./bench/cmd/benchtable $(BENCH_FLAGS) | tee bin/bench.out
	@if [ -z "$(findstring -only,$(BENCH_FLAGS))" ]; then \
	  { cat hack/benchmarks-header.md; echo; cat bin/bench.out; } > docs/benchmarks.md && echo "wrote docs/benchmarks.md"; \
	fi

clean:
	rm -rf bin/

# fuzz runs each fuzz target for FUZZTIME. A crasher is written to its package's
# testdata/fuzz/<Target>/; commit it, and every `go test` runs it as a seed from then on.
# FUZZ_FLAGS go to each `go test -fuzz`: `FUZZ_FLAGS=-parallel=1` fuzzes on one worker, leaving
# the other core of a shared machine free.
FUZZTIME ?= 30s
FUZZ_FLAGS ?=
FUZZ_TARGETS := internal/config:FuzzJobConfig internal/decorate:FuzzPod internal/storage:FuzzJobDir \
  internal/deck:FuzzQuery internal/spyglass:FuzzLocateFile internal/plugins:FuzzParseCommands internal/trigger:FuzzWebhook
fuzz: controlplane
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t#*:}; echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
	  KUBEBUILDER_ASSETS="$$(hack/controlplane/build.sh)" $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZ_FLAGS) || exit 1; \
	done

# load runs the load tests at full size, one package after the other (PROWL_LOAD=1): Hook at 200
# events/s for 60 s, and Plank with 5,000 jobs under its three limits. Each prints one line of
# figures; docs/reliability.md keeps the latest.
.PHONY: load
load: controlplane
	KUBEBUILDER_ASSETS="$$(hack/controlplane/build.sh)" PROWL_LOAD=1 $(GO) test -p 1 -v -count=1 -timeout 60m \
	  -run '^(TestHookLoad|TestPlankLoad)$$' ./internal/trigger ./internal/plank

# images builds Prowl's OCI images without a Docker engine into $(IMAGES_DIR) (one OCI layout per
# image, linux/amd64 and linux/arm64) and pushes them when REGISTRY is set; see docs/deploy.md.
# Settings: REGISTRY, TAG, PLATFORMS, STATIC_BASE, CLONEREFS_BASE (default: this machine's git), SOURCE_DATE_EPOCH.
IMAGES_DIR ?= build/images
.PHONY: images
images:
	IMAGES_DIR="$(IMAGES_DIR)" $(GO) run ./hack/images
