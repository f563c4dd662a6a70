# edgeframe — the targets users and CI call. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export EDGEFRAME_TOOLS ?= $(HOME)/.cache/edgeframe/tools
GO          ?= go
BIN         := bin
WORKLOADS   := $(notdir $(wildcard workloads/*))
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# One version package for every binary (edgeframe, workloads, arcflux); the image builder
# stamps the same variable (build/imagebuild/gobuild.VersionVar).
LDFLAGS     := -s -w -X github.com/edgeframe/edgeframe/pkg/version.Version=$(VERSION) -X github.com/edgeframe/edgeframe/pkg/version.Commit=$(COMMIT)
TEST_FLAGS  ?= -count=1 -timeout 45m
# The fast lane links ~60 test binaries: without DWARF (-w) a Helm-sized one links in about
# 70 % of the CPU (measured); a debugger wants `go test -c` without it.
SHORT_FLAGS ?= -ldflags=-w
BENCH_FLAGS ?= -run '^$$' -bench . -benchtime 1x -timeout 30m
# A seed corpus per fuzz target runs in `make test`; FUZZTIME drives `make fuzz`.
FUZZTIME    ?= 30s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## install or build every real component the tests and the demo need (idempotent, cached)
	@bash build/tools/plan.sh
	@start=$$(date +%s); for s in build/tools/[0-9]*.sh; do bash "$$s"; done; \
	  echo "[tools] ready after $$(( $$(date +%s) - start )) s"

.PHONY: build
build: ## build the edgeframe command, every workload and the arcflux mixin into bin/
	@mkdir -p $(BIN)
	@echo "go build ./cmd/edgeframe -> $(BIN)/edgeframe"
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/edgeframe ./cmd/edgeframe
	@for w in $(WORKLOADS); do \
	  if [ -d workloads/$$w/cmd/$$w ]; then pkg=./workloads/$$w/cmd/$$w; else pkg=./workloads/$$w/cmd; fi; \
	  echo "go build $$pkg -> $(BIN)/$$w"; \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/$$w $$pkg; \
	done
	@for c in $(wildcard mixin/cmd/*); do \
	  echo "go build ./$$c -> $(BIN)/$$(basename $$c)"; \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/$$(basename $$c) ./$$c; \
	done

.PHONY: test
test: tools build ## every test, against real components it installs first; lists every skip at the end
	$(EDGEFRAME_TOOLS)/bin/gotestsum --format pkgname --format-hide-empty-pkg -- $(TEST_FLAGS) ./...

.PHONY: test-short
test-short: ## the fast lane: go test -short ./... (no real components, nothing slow; results cached per package)
	$(GO) test -short $(SHORT_FLAGS) ./...

.PHONY: bench
bench: build ## benchmarks against real components; prints the figures and writes bin/bench.json
	$(GO) test $(BENCH_FLAGS) ./... | tee $(BIN)/bench.txt | grep -vE '^(ok|PASS|\?)'

DURATION ?= 10m
.PHONY: soak
soak: build ## hold 1,000 msg/s for DURATION with the sink cut for its middle third; RSS over time, 0 missing
	EDGEFRAME_SOAK_DURATION=$(DURATION) $(GO) test -run '^$$' -bench BenchmarkSoak -benchtime 1x -timeout 2h ./test/bench/ | tee $(BIN)/soak.txt | grep -vE '^(ok|PASS|\?)'

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each
	@for p in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p; \
	  done; \
	done

.PHONY: lint
lint: ## go vet + staticcheck + gofmt
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@test -x $(EDGEFRAME_TOOLS)/bin/staticcheck || bash build/tools/90-lint.sh
	$(EDGEFRAME_TOOLS)/bin/staticcheck ./...

.PHONY: demo-tools
demo-tools: ## install only what the demo needs (mosquitto, daprd, Azurite)
	@for s in build/tools/00-mosquitto.sh build/tools/10-daprd.sh build/tools/40-azurite.sh; do bash "$$s"; done

.PHONY: demo
demo: demo-tools build ## run the local topology L2 → L3 → L4 (ARGS="--duration 60s --rate 100")
	$(BIN)/edgeframe demo $(ARGS)

CLUSTER_ARGS ?=
.PHONY: cluster-up
cluster-up: ## start a real single-node Kubernetes on this machine (root; make tools first); prints the kubeconfig path
	@mkdir -p $(BIN) && $(GO) build -o $(BIN)/edgeframe ./cmd/edgeframe
	@$(BIN)/edgeframe cluster up $(CLUSTER_ARGS)

.PHONY: cluster-e2e
cluster-e2e: ## node up if needed, install porter.yaml on it, verify the data path across an L3 broker deletion, uninstall, summary
	@mkdir -p $(BIN) && $(GO) build -o $(BIN)/edgeframe ./cmd/edgeframe
	$(BIN)/edgeframe cluster e2e $(CLUSTER_ARGS)

.PHONY: cluster-down
cluster-down: ## stop the local node, restore the kernel settings it changed, remove its state
	@mkdir -p $(BIN) && $(GO) build -o $(BIN)/edgeframe ./cmd/edgeframe
	$(BIN)/edgeframe cluster down $(CLUSTER_ARGS)

.PHONY: charts
charts: ## package the Helm charts into dist/charts (tgz + index.yaml); PUSH=oci://host/path also pushes them
	$(GO) run ./build/cmd/chartpkg --out dist/charts $(if $(CHARTS_URL),--url $(CHARTS_URL)) $(if $(PUSH),--push $(PUSH)) $(if $(PLAIN_HTTP),--plain-http)

.PHONY: images
images: ## build workload images daemonlessly (amd64+arm64) from HEAD into bin/images (+ bin/images.lock.json); digests into staged manifests, if any
	$(GO) run ./build/cmd/edgeframe-images build --from-git HEAD

.PHONY: publish
publish: ## stage the bundles, push images + charts, write the pushed digests into bin/bundles/*/porter.yaml: make publish REGISTRY=host[:port] [INSECURE=true]
	@test -n "$(REGISTRY)" || { echo "make publish: REGISTRY=host[:port] is required"; exit 1; }
	bash build/bundles/build.sh --stage
	$(GO) run ./build/cmd/edgeframe-images publish --registry $(REGISTRY) $(if $(filter true,$(INSECURE)),--insecure)

.PHONY: bundles
bundles: ## stage every bundle into bin/bundles, build the images and write their digests into the staged manifests, prove the bundles; porter lint/build when porter is on PATH
	bash build/bundles/build.sh

.PHONY: mixin-install
mixin-install: ## install the arcflux mixin into $$PORTER_HOME/mixins/arcflux (client + runtimes/)
	bash build/mixin/install.sh

.PHONY: mixin-xbuild
mixin-xbuild: ## cross-build arcflux for linux/darwin/windows x amd64/arm64 with an atom feed (bin/mixins)
	bash build/mixin/xbuild.sh

.PHONY: clean
clean: ## remove build outputs (not the tool cache)
	rm -rf $(BIN) .edgeframe dist
